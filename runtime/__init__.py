"""The runtime: generating rain with an exported model, for files and for live hosts.

:mod:`.generator` runs the model, :mod:`.stream` turns its chunks into an endless stream,
:mod:`.render`, :mod:`.loop` and :mod:`.stems` write files, and :mod:`.source` feeds audio
callbacks through the native real-time core. Importing it never imports TensorFlow.
"""
