// raingan._native: the Python face of the native core (library raingan_core).
//
// This module is shared: each native component adds its bindings here, as a thin layer over a
// plain C++ function or class of raingan_core that knows nothing of Python. Today it holds
// PGHI phase reconstruction; the real-time ring buffer is to be bound here too (separate
// issue). Conventions for every binding:
//   - take numpy arrays as py::array_t<..., py::array::c_style> without implicit conversion,
//     so that a wrong dtype or layout is an error rather than a silent copy;
//   - validate shapes and arguments while holding the GIL and raise ValueError
//     (std::invalid_argument) with the offending values;
//   - release the GIL around the computation, so Python threads can run chunks in parallel.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <complex>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "raingan/griffin_lim.hpp"
#include "raingan/pghi.hpp"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style>;

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

using ComplexArray = py::array_t<std::complex<float>, py::array::c_style>;

void require(bool condition, const std::string& message) {
    if (!condition) throw std::invalid_argument(message);
}

std::size_t dim(const py::array& a, int axis) { return static_cast<std::size_t>(a.shape(axis)); }

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

}  // namespace

PYBIND11_MODULE(_native, m) {
    m.doc() = "RainGAN native core: PGHI phase reconstruction and Fast Griffin-Lim kernels.";

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
