// raingan._native's DSP kernels: PGHI, the Fast Griffin-Lim passes and the DC blocker, thin
// bindings over raingan_core that follow module.cpp's conventions.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <complex>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "module_common.hpp"
#include "raingan/dc_blocker.hpp"
#include "raingan/griffin_lim.hpp"
#include "raingan/pghi.hpp"

namespace raingan_bindings {

namespace {

using ComplexArray = py::array_t<std::complex<float>, py::array::c_style>;

FloatArray pghi_phase(const py::array& magnitudes_in, std::size_t n_fft, std::size_t win_length,
                      std::size_t hop_length, float tolerance_db, std::size_t num_threads) {
    // Checked here rather than by the caster, so that the message names the actual dtype.
    if (!py::isinstance<FloatArray>(magnitudes_in)) {
        throw std::invalid_argument(
            "pghi: magnitudes must be a C-contiguous float32 array, got dtype " +
            std::string(py::str(magnitudes_in.dtype())) +
            (magnitudes_in.flags() & py::array::c_style ? "" : " (not C-contiguous)"));
    }
    const auto magnitudes = py::reinterpret_borrow<FloatArray>(magnitudes_in);
    if (magnitudes.ndim() != 3) {
        throw std::invalid_argument("pghi: magnitudes must have shape (batch, n_frames, n_bins), got " +
                                    std::to_string(magnitudes.ndim()) + " dimensions");
    }
    const auto batch = static_cast<std::size_t>(magnitudes.shape(0));
    const auto n_frames = static_cast<std::size_t>(magnitudes.shape(1));
    const auto n_bins = static_cast<std::size_t>(magnitudes.shape(2));
    raingan::check_pghi_arguments(n_frames, n_bins, n_fft, win_length, hop_length, tolerance_db);

    FloatArray phase({batch, n_frames, n_bins});
    const float* in = magnitudes.data();
    float* out = phase.mutable_data();
    {
        py::gil_scoped_release release;
        raingan::pghi(in, out, batch, n_frames, n_bins, n_fft, win_length, hop_length,
                      tolerance_db, num_threads);
    }
    return phase;
}

void overlap_add_reframe(const FloatArray& frames_in, std::size_t win_length, std::size_t hop_length,
                         const FloatArray& window, const FloatArray& inverse_window_sum,
                         FloatArray& signal, FloatArray& frames_out) {
    require(frames_in.ndim() == 3 && frames_out.ndim() == 3 && signal.ndim() == 2,
            "overlap_add_reframe: frames_in and frames_out must be 3-d, signal 2-d");
    const std::size_t batch = dim(frames_in, 0), n_frames = dim(frames_in, 1);
    const std::size_t signal_len = (n_frames - 1) * hop_length + win_length;
    require(n_frames > 0 && hop_length > 0 && dim(frames_in, 2) >= win_length,
            "overlap_add_reframe: frames shorter than the window");
    require(dim(frames_out, 0) == batch && dim(frames_out, 1) == n_frames &&
                dim(frames_out, 2) == win_length,
            "overlap_add_reframe: frames_out must have shape (batch, n_frames, win_length)");
    require(dim(signal, 0) == batch && dim(signal, 1) == signal_len,
            "overlap_add_reframe: signal must have shape (batch, (n_frames-1)*hop + win)");
    require(window.size() == static_cast<py::ssize_t>(win_length) &&
                inverse_window_sum.size() == static_cast<py::ssize_t>(signal_len),
            "overlap_add_reframe: window or inverse_window_sum has the wrong length");
    const float* in = frames_in.data();
    float* sig = signal.mutable_data();
    float* out = frames_out.mutable_data();
    py::gil_scoped_release release;
    raingan::overlap_add_reframe(in, batch, n_frames, dim(frames_in, 2), win_length, hop_length,
                                 window.data(), inverse_window_sum.data(), sig, out);
}

void project_with_momentum(const ComplexArray& rebuilt, const FloatArray& target,
                           ComplexArray& previous, ComplexArray& spectra, float momentum) {
    const auto n = rebuilt.size();
    require(target.size() == n && previous.size() == n && spectra.size() == n,
            "project_with_momentum: rebuilt, target, previous and spectra must have equal sizes");
    const auto* r = rebuilt.data();
    const float* t = target.data();
    auto* p = previous.mutable_data();
    auto* s = spectra.mutable_data();
    py::gil_scoped_release release;
    raingan::project_with_momentum(r, t, p, s, static_cast<std::size_t>(n), momentum);
}

using DoubleArray = py::array_t<double, py::array::c_style>;

void dc_block(DoubleArray& samples, DoubleArray& state, double pole) {
    require(samples.ndim() == 2 && state.ndim() == 1 && dim(state, 0) == dim(samples, 1),
            "dc_block: samples must have shape (frames, channels) and state (channels,), got " +
                std::to_string(samples.ndim()) + "-d samples and " +
                std::to_string(state.ndim()) + "-d state");
    require(samples.writeable() && state.writeable(), "dc_block: samples and state must be writable");
    require(std::isfinite(pole) && pole >= 0.0 && pole < 1.0, "dc_block: pole must be in [0, 1)");
    double* x = samples.mutable_data();
    double* z = state.mutable_data();
    const std::size_t frames = dim(samples, 0), channels = dim(samples, 1);
    py::gil_scoped_release release;
    raingan::dc_block(x, frames, channels, pole, z);
}

}  // namespace

void add_dsp_kernels(py::module_& m) {
    m.def("overlap_add_reframe", &overlap_add_reframe, py::arg("frames_in").noconvert(),
          py::arg("win_length"), py::arg("hop_length"), py::arg("window").noconvert(),
          py::arg("inverse_window_sum").noconvert(), py::arg("signal").noconvert(),
          py::arg("frames_out").noconvert(),
          "Griffin-Lim's consistency step between the FFTs: window the inverse-FFT frames, "
          "overlap-add them into `signal` (least squares), and write its windowed frames to "
          "`frames_out`. All arrays float32, C-contiguous; outputs are written in place.");
    m.def("project_with_momentum", &project_with_momentum, py::arg("rebuilt").noconvert(),
          py::arg("target").noconvert(), py::arg("previous").noconvert(),
          py::arg("spectra").noconvert(), py::arg("momentum"),
          "One Fast Griffin-Lim update, in place: projected = rebuilt * target / |rebuilt|; "
          "spectra = projected + momentum * (projected - previous); previous = projected. "
          "Complex arrays complex64, target float32, all C-contiguous and of equal size.");

    m.def("dc_block", &dc_block, py::arg("samples").noconvert(), py::arg("state").noconvert(),
          py::arg("pole"),
          "The output's DC blocker, in place: y[n] = x[n] - x[n-1] + pole * y[n-1] per channel "
          "of (frames, channels) float64 samples, NaN and infinities taken as 0; state "
          "(channels,) float64 carries each channel's filter from block to block. Bit for bit "
          "scipy.signal.lfilter([1, -1], [1, -pole], x, axis=0, zi=state[None]).");
    m.def("pghi", &pghi_phase, py::arg("magnitudes").noconvert(), py::arg("n_fft"),
          py::arg("win_length"), py::arg("hop_length"),
          py::arg("tolerance_db") = raingan::kDefaultPghiToleranceDb, py::arg("num_threads") = 0,
          R"doc(Phase Gradient Heuristic Integration (Prusa, Balazs & Sondergaard 2017).

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
)doc");
}

}  // namespace raingan_bindings
