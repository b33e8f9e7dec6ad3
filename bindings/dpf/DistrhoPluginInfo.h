// RainGAN's VST3 and CLAP plugins (DPF): what the framework needs to know at compile time.
#pragma once

#define DISTRHO_PLUGIN_BRAND "RainGAN"
#define DISTRHO_PLUGIN_NAME "RainGAN"
#define DISTRHO_PLUGIN_URI "urn:raingan:rain:dpf"
#define DISTRHO_PLUGIN_CLAP_ID "org.raingan.rain"

#define DISTRHO_PLUGIN_HAS_UI 0
#define DISTRHO_PLUGIN_IS_RT_SAFE 1
// A generator: no MIDI (a synth's MIDI input would bring DPF's 2080 MIDI-CC parameters to
// VST3), listed by its categories among instruments, where hosts put generators.
#define DISTRHO_PLUGIN_IS_SYNTH 0
#define DISTRHO_PLUGIN_NUM_INPUTS 0
#define DISTRHO_PLUGIN_NUM_OUTPUTS 2
#define DISTRHO_PLUGIN_WANT_STATE 1
#define DISTRHO_PLUGIN_WANT_FULL_STATE 1
#define DISTRHO_PLUGIN_VST3_CATEGORIES "Instrument|Generator|Stereo"
#define DISTRHO_PLUGIN_CLAP_FEATURES "instrument", "ambient", "stereo"
