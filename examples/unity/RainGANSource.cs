// RainGAN in Unity through its C ABI (raingan.h): a sketch, not a tested Unity package.
//
// Put libraingan.so (Linux; the raingan Python package's folder holds it) under
// Assets/Plugins/, add this component to a GameObject with an AudioSource, and set the
// project's DSP buffer as you like. libraingan starts `python -m raingan serve` with the
// interpreter named in RAINGAN_PYTHON (or python3 on PATH), which must have raingan
// installed; the audio thread only copies from a shared-memory ring.
//
// tests/test_unity_example.py checks that every function declared below exists in raingan.h
// and in libraingan.so with as many parameters. This file is not compiled in CI (no Unity).
using System;
using System.Runtime.InteropServices;
using UnityEngine;

public static class RainGANNative
{
    const string Library = "raingan";

    [StructLayout(LayoutKind.Sequential)]
    public struct Config
    {
        public uint StructSize;
        public uint SampleRateHz;
        public uint Channels;
        public ulong Seed;
        public double LatencyMs;
        public IntPtr ModelPath;   // UTF-8, NULL: the bundled model
        public IntPtr PythonPath;  // NULL: RAINGAN_PYTHON, else python3 on PATH
    }

    [DllImport(Library)] public static extern uint raingan_abi_version();
    [DllImport(Library)] public static extern int raingan_config_init(ref Config config);
    [DllImport(Library)] public static extern int raingan_create(ref Config config, out IntPtr rain);
    [DllImport(Library)] public static extern int raingan_wait_ready(IntPtr rain, uint timeoutMs);
    [DllImport(Library)] public static extern int raingan_render_interleaved(IntPtr rain, float[] output, uint frames);
    [DllImport(Library)] public static extern int raingan_set_intensity(IntPtr rain, float intensity);
    [DllImport(Library)] public static extern int raingan_set_gain_db(IntPtr rain, float gainDb);
    [DllImport(Library)] public static extern int raingan_set_width(IntPtr rain, float width);
    [DllImport(Library)] public static extern IntPtr raingan_status_text(int status);
    [DllImport(Library)] public static extern int raingan_destroy(IntPtr rain);

    public const uint AbiVersion = 1;  // RAINGAN_ABI_VERSION of the raingan.h this matches
}

[RequireComponent(typeof(AudioSource))]
public class RainGANSource : MonoBehaviour
{
    [Range(0f, 1f)] public float intensity = 0.5f;
    [Range(-60f, 12f)] public float gainDb = 0f;
    [Range(0f, 1f)] public float width = 1f;
    public ulong seed = 1;

    IntPtr rain = IntPtr.Zero;
    int channels;

    void Awake()
    {
        if (RainGANNative.raingan_abi_version() != RainGANNative.AbiVersion)
        {
            Debug.LogError("libraingan does not match this script's raingan.h version");
            return;
        }
        var config = new RainGANNative.Config();
        RainGANNative.raingan_config_init(ref config);
        config.SampleRateHz = (uint)AudioSettings.outputSampleRate;
        channels = AudioSettings.speakerMode == AudioSpeakerMode.Mono ? 1 : 2;
        config.Channels = (uint)channels;
        config.Seed = seed;
        int status = RainGANNative.raingan_create(ref config, out rain);
        // Waiting here, off the audio thread, lets the first callback start on the stream.
        if (status == 0) status = RainGANNative.raingan_wait_ready(rain, 60000);
        if (status != 0)
        {
            Debug.LogError("RainGAN: " + Marshal.PtrToStringAnsi(RainGANNative.raingan_status_text(status)));
            if (rain != IntPtr.Zero) RainGANNative.raingan_destroy(rain);
            rain = IntPtr.Zero;
        }
        GetComponent<AudioSource>().Play();  // OnAudioFilterRead needs a playing source
    }

    void Update()
    {
        if (rain == IntPtr.Zero) return;
        // Each setter glides; calling them every frame costs an atomic store each.
        RainGANNative.raingan_set_intensity(rain, intensity);
        RainGANNative.raingan_set_gain_db(rain, gainDb);
        RainGANNative.raingan_set_width(rain, width);
    }

    // Unity's audio thread: interleaved float32, data.Length / channels frames.
    void OnAudioFilterRead(float[] data, int unityChannels)
    {
        if (rain == IntPtr.Zero || unityChannels != channels) return;
        RainGANNative.raingan_render_interleaved(rain, data, (uint)(data.Length / channels));
    }

    void OnDestroy()
    {
        if (rain != IntPtr.Zero) RainGANNative.raingan_destroy(rain);
        rain = IntPtr.Zero;
    }
}
