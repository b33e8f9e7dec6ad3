-- RainGAN's LV2 plugin in Ardour, headless: a new session on the dummy audio backend, a track
-- with the plugin (gain -6 dB), 10 s of playback with the track's peak meter printed every
-- 0.5 s, and the seed moved to 7 at 6 s (Ardour's LV2 worker starts the new stream). Ends with
-- an error unless the meter showed rain after the seed change.
--
--     raingan plugin install
--     ardour7-lua examples/ardour/lv2_check.lua      # Debian's ardour package (Ardour 7)
local backend = AudioEngine:set_backend("None (Dummy)", "", "")
assert(backend, "Ardour has no dummy backend")
AudioEngine:set_sample_rate(48000)
AudioEngine:start(false)
local folder = os.tmpname()
os.remove(folder)
local session = create_session(folder, "raingan", 48000)
assert(session, "cannot create a session in " .. folder)
local track = session:new_audio_track(0, 2, nil, 1, "Rain", ARDOUR.PresentationInfo.max_order,
                                      ARDOUR.TrackMode.Normal, true):front()
local plugin = ARDOUR.LuaAPI.new_plugin(session, "urn:raingan:rain", ARDOUR.PluginType.LV2, "")
assert(not plugin:isnil(), "urn:raingan:rain not found: run `raingan plugin install`")
assert(track:add_processor_by_index(plugin, 0, nil, true) == 0, "cannot add the plugin")
-- Parameters count the input controls: 0 intensity, 1 gain, 2 width, 3 seed.
ARDOUR.LuaAPI.set_processor_param(plugin, 1, -6)
local loudest_after_change = -math.huge
for step = 1, 20 do
    ARDOUR.LuaAPI.usleep(500000)
    if step == 12 then ARDOUR.LuaAPI.set_processor_param(plugin, 3, 7) end
    local left = track:peak_meter():meter_level(0, ARDOUR.MeterType.MeterPeak)
    local right = track:peak_meter():meter_level(1, ARDOUR.MeterType.MeterPeak)
    if step > 12 then loudest_after_change = math.max(loudest_after_change, left, right) end
    print(string.format("%4.1f s  peak dBFS  L %6.1f  R %6.1f%s", step * 0.5, left, right,
                        step == 12 and "  (seed -> 7)" or ""))
end
close_session()
AudioEngine:stop(false)
assert(loudest_after_change > -40, "no rain on the track's meter after the seed change")
print("rain on the track, before and after the seed change")
