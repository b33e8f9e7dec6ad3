"""The judge: how close candidate audio is to reference rain (``raingan eval``).

One module per measure: :mod:`.texture` (sound-texture statistics on :mod:`.cochlear`
envelopes), :mod:`.distance`, :mod:`.seam`, :mod:`.repetition`, :mod:`.noise_twin` (the
coloured-noise yardstick) and :mod:`.levels`; :mod:`.evaluate` runs them and :mod:`.report`
holds the result. Plots live apart, in :mod:`.display` (needs matplotlib).
"""
