"""
RainGAN native core: PGHI phase reconstruction, Fast Griffin-Lim kernels, the real-time RainCore and the shared-memory ShmRing.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['CAbiRenderer', 'RainCore', 'ShmRing', 'dc_block', 'overlap_add_reframe', 'pghi', 'project_with_momentum', 'time_python_calls']
class CAbiRenderer:
    """
    raingan.ServedRainSource's render calls.
    
    Renders through libraingan (raingan.h) into a (frames, channels) float32 buffer, or
    (channels, frames) for render_planar, keeping the GIL; silence while detached. attach takes
    the raingan_t* as an integer; detach before raingan_destroy.
    """
    def __init__(self, channels: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def attach(self, handle: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def detach(self) -> None:
        ...
    def render(self, buffer: numpy.typing.NDArray[numpy.float32]) -> int:
        """
        Fill buffer, shape (frames, channels), in place; returns frames.
        """
    def render_planar(self, buffer: numpy.typing.NDArray[numpy.float32]) -> int:
        """
        Fill buffer, shape (channels, frames), in place; returns frames.
        """
    @property
    def attached(self) -> bool:
        ...
class RainCore:
    """
    The real-time half of raingan.RainSource.
    
    A lock-free ring of interleaved float32 frames that a producer thread writes, and render()
    reads on the host's audio thread, with per-sample gain and width glides, a soft limiter, and
    a crossfade into a pre-rendered seamless loop whenever the ring runs short.
    
    Parameters
    ----------
    capacity_frames : ring size in frames (rounded up to a power of two)
    channels : 1 or 2
    sample_rate_hz : the host's rate (sets the glide time)
    loop_capacity_frames : room for the seamless fallback loop (see set_loop)
    fade_frames : crossfade length, frames
    resume_frames : after an underrun, frames the ring must hold before the stream returns
    smoothing_s : time constant of gain and width glides, seconds
    """
    @staticmethod
    def abi() -> dict:
        """
        dict: version, core_size_bytes, core_align_bytes, layout_tag of the raingan::RainCore behind address(), which a C++ host must match (raingan/core_abi.hpp).
        """
    def __init__(self, capacity_frames: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex, sample_rate_hz: typing.SupportsFloat | typing.SupportsIndex, loop_capacity_frames: typing.SupportsInt | typing.SupportsIndex, fade_frames: typing.SupportsInt | typing.SupportsIndex, resume_frames: typing.SupportsInt | typing.SupportsIndex, smoothing_s: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def address(self) -> int:
        """
        Address of the raingan::RainCore, for C++ hosts (raingan/embed.hpp); valid while this object lives. Check abi() first.
        """
    def render(self, buffer: typing.Any) -> int:
        """
        Fill a (frames, channels) float32 C-contiguous buffer in place; returns frames. Keeps the GIL for buffers of up to 4096 frames (microseconds), releases it for longer ones.
        """
    def render_planar(self, buffer: typing.Any) -> int:
        """
        Fill a (channels, frames) float32 C-contiguous buffer in place; returns frames. Keeps the GIL for buffers of up to 4096 frames, as render does.
        """
    def set_gain_db(self, gain_db: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_loop(self, loop: numpy.typing.NDArray[numpy.float32]) -> None:
        """
        Install the seamless fallback loop (shape (frames, channels), float32), once; until then an underrun fades to silence.
        """
    def set_running(self, running: bool) -> None:
        ...
    def set_width(self, width: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def stats(self) -> dict:
        """
        dict: underruns, loop_heard_frames (also as loop_frames, its former name), frames_rendered, frames_buffered, loop_ready.
        """
    def time_renders(self, frames: typing.SupportsInt | typing.SupportsIndex, n_buffers: typing.SupportsInt | typing.SupportsIndex, period_s: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
        """
        Benchmark: render n_buffers buffers paced period_s apart without the GIL; returns each call's duration, ns.
        """
    def write(self, frames: numpy.typing.NDArray[numpy.float32]) -> int:
        """
        Producer side: copy frames (shape (n, channels), float32) into the ring; returns how many fitted.
        """
    @property
    def capacity_frames(self) -> int:
        ...
    @property
    def channels(self) -> int:
        ...
    @property
    def readable_frames(self) -> int:
        ...
    @property
    def running(self) -> bool:
        ...
    @property
    def wait_for_room(self, frames: typing.SupportsInt | typing.SupportsIndex, timeout_s: typing.SupportsFloat | typing.SupportsIndex) -> bool:
        """
        Producer side: sleep without the GIL until fewer than `frames` frames are buffered, the core stops running, or timeout_s passes; returns whether fewer are.
        """
    def writable_frames(self) -> int:
        ...
class ShmRing:
    """
    A shared-memory ring of interleaved float32 frames.
    
    The consumer (the C ABI, raingan.h) creates it; `raingan serve` attaches to it by name and
    writes. Layout and protocol: raingan/shm_ring.hpp. Use create() or attach(), not the
    constructor; close() unmaps it (and unlinks the name, for its creator).
    """
    @staticmethod
    def attach(name: str) -> ShmRing:
        """
        Map an existing ring and check that it is one of this version; ValueError names what is wrong.
        """
    @staticmethod
    def create(name: str, channels: typing.SupportsInt | typing.SupportsIndex, sample_rate_hz: typing.SupportsInt | typing.SupportsIndex, capacity_frames: typing.SupportsInt | typing.SupportsIndex, target_frames: typing.SupportsInt | typing.SupportsIndex, loop_capacity_frames: typing.SupportsInt | typing.SupportsIndex) -> ShmRing:
        """
        Consumer: create the segment `name` exclusively (this process is its consumer, and unlinks it on close()).
        """
    def beat(self) -> None:
        """
        Producer: one heartbeat (the consumer's watchdog restarts a producer whose heartbeat stops).
        """
    def claim(self) -> None:
        """
        Producer: mark this process as the ring's producer (loading), and beat once.
        """
    def close(self) -> None:
        ...
    def fail(self, reason: str) -> None:
        """
        Producer: give up, with one line of reason, before exiting.
        """
    def read(self, max_frames: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
        """
        Consumer: take up to max_frames frames out, as a (frames, channels) array.
        """
    def request_stop(self) -> None:
        """
        Consumer: ask the producer to exit.
        """
    def set_loop(self, frames: numpy.typing.NDArray[numpy.float32]) -> None:
        """
        Producer: write the fallback loop, (frames, channels) float32, once.
        """
    def set_streaming(self, has_intensity_axis: bool) -> None:
        """
        Producer: the model is loaded and audio flows.
        """
    def write(self, frames: numpy.typing.NDArray[numpy.float32]) -> int:
        """
        Producer: copy (n, channels) float32 frames in; returns how many fitted.
        """
    @property
    def capacity_frames(self) -> int:
        ...
    @property
    def channels(self) -> int:
        ...
    @property
    def consumer_pid(self) -> int:
        ...
    @property
    def has_loop(self) -> bool:
        ...
    @property
    def heartbeat(self) -> int:
        ...
    @property
    def intensity(self) -> float | None:
        """
        The consumer's intensity target, 0-1, or None (released).
        """
    @intensity.setter
    def intensity(self, arg1: float | None) -> None:
        ...
    @property
    def loop_capacity_frames(self) -> int:
        ...
    @property
    def message(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def producer_pid(self) -> int:
        ...
    @property
    def producer_state(self) -> str:
        ...
    @property
    def readable_frames(self) -> int:
        ...
    @property
    def sample_rate_hz(self) -> int:
        ...
    @property
    def stop_requested(self) -> bool:
        ...
    @property
    def target_frames(self) -> int:
        ...
    @property
    def writable_frames(self) -> int:
        ...
def dc_block(samples: numpy.typing.NDArray[numpy.float64], state: numpy.typing.NDArray[numpy.float64], pole: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    The output's DC blocker, in place: y[n] = x[n] - x[n-1] + pole * y[n-1] per channel of (frames, channels) float64 samples, NaN and infinities taken as 0; state (channels,) float64 carries each channel's filter from block to block. Bit for bit scipy.signal.lfilter([1, -1], [1, -pole], x, axis=0, zi=state[None]).
    """
def overlap_add_reframe(frames_in: numpy.typing.NDArray[numpy.float32], win_length: typing.SupportsInt | typing.SupportsIndex, hop_length: typing.SupportsInt | typing.SupportsIndex, window: numpy.typing.NDArray[numpy.float32], inverse_window_sum: numpy.typing.NDArray[numpy.float32], signal: numpy.typing.NDArray[numpy.float32], frames_out: numpy.typing.NDArray[numpy.float32]) -> None:
    """
    Griffin-Lim's consistency step between the FFTs: window the inverse-FFT frames, overlap-add them into `signal` (least squares), and write its windowed frames to `frames_out`. All arrays float32, C-contiguous; outputs are written in place.
    """
def pghi(magnitudes: numpy.ndarray, n_fft: typing.SupportsInt | typing.SupportsIndex, win_length: typing.SupportsInt | typing.SupportsIndex, hop_length: typing.SupportsInt | typing.SupportsIndex, tolerance_db: typing.SupportsFloat | typing.SupportsIndex = -60.0, num_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Phase Gradient Heuristic Integration (Prusa, Balazs & Sondergaard 2017).
    
    Estimates the STFT phase from STFT magnitudes without iterating, for the STFT convention of
    raingan.runtime.stft (periodic Hann window of length win_length at the start of an n_fft
    buffer, hop hop_length, no centre padding).
    
    Parameters
    ----------
    magnitudes : np.ndarray, shape (batch, n_frames, n_fft // 2 + 1), float32, C-contiguous
    n_fft, win_length, hop_length : int, samples; win_length <= n_fft, hop_length <= win_length
    tolerance_db : float, negative: coefficients this far below each chunk's maximum get a
        pseudo-random phase instead of an integrated one
    num_threads : int, worker threads over the batch; 0 uses every core. Pass 1 when the caller
        already runs chunks on several threads.
    
    Returns
    -------
    np.ndarray, same shape, float32: phase in radians, in [-pi, pi]. Each chunk's phase depends on
    that chunk's magnitudes only.
    
    Raises
    ------
    ValueError
        on a wrong dtype, layout or shape, or inconsistent STFT sizes.
    """
def project_with_momentum(rebuilt: numpy.typing.NDArray[numpy.complex64], target: numpy.typing.NDArray[numpy.float32], previous: numpy.typing.NDArray[numpy.complex64], spectra: numpy.typing.NDArray[numpy.complex64], momentum: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    One Fast Griffin-Lim update, in place: projected = rebuilt * target / |rebuilt|; spectra = projected + momentum * (projected - previous); previous = projected. Complex arrays complex64, target float32, all C-contiguous and of equal size.
    """
def time_python_calls(callback: collections.abc.Callable, n_calls: typing.SupportsInt | typing.SupportsIndex, period_s: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    """
    Benchmark: call callback() n_calls times, period_s apart, from a native thread that takes the GIL for each call, as an audio API calls a Python audio callback; returns (n_calls, 2) int64 ns: waking to holding the GIL, and the due time to waking.
    """
