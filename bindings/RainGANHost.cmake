# raingan::host: what a C++ program needs to embed RainGAN (see bindings/include/raingan/embed.hpp).
#
#   find_package(Python 3.10 REQUIRED COMPONENTS Interpreter Development.Embed)
#   find_package(pybind11 CONFIG REQUIRED)
#   include(path/to/raingan/bindings/RainGANHost.cmake)
#   target_link_libraries(my_host PRIVATE raingan::host)
#
# Configure with -DPython_EXECUTABLE=<the python that has raingan installed>: its
# site-packages is compiled in, so the embedded interpreter finds raingan without PYTHONPATH.
if(NOT TARGET raingan_host)
    find_package(Threads REQUIRED)
    add_library(raingan_host INTERFACE)
    add_library(raingan::host ALIAS raingan_host)
    target_include_directories(raingan_host INTERFACE "${CMAKE_CURRENT_LIST_DIR}/include")
    target_link_libraries(raingan_host INTERFACE pybind11::embed Threads::Threads)
    target_compile_features(raingan_host INTERFACE cxx_std_17)
    target_compile_definitions(raingan_host INTERFACE RAINGAN_PYTHON_SITE="${Python_SITEARCH}")
endif()
