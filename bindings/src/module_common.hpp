// What the source files of raingan._native share: array types and argument checks.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace raingan_bindings {

namespace py = pybind11;

using FloatArray = py::array_t<float, py::array::c_style>;

inline void require(bool condition, const std::string& message) {
    if (!condition) throw std::invalid_argument(message);
}

inline std::size_t dim(const py::array& a, int axis) { return static_cast<std::size_t>(a.shape(axis)); }

// Adds PGHI, the Fast Griffin-Lim kernels and the DC blocker to the module (module_dsp.cpp).
void add_dsp_kernels(py::module_& m);

}  // namespace raingan_bindings
