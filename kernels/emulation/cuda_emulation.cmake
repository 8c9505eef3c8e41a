# The emulated CUDA build (SPIKESIM_CUDA_EMULATION=ON; docs/architecture.md, "The emulated CUDA
# build"): kernels/*.cu compiled by chipStar's cucc (CUDA -> SPIR-V, run by an OpenCL CPU
# runtime) outside CMake's CUDA language, into spikesim_core_emulated, a second core library
# beside spikesim_core, which stays as it is (with nvcc or without CUDA). tests/CMakeLists.txt
# links it into spikesim_tests_emulated. chipStar comes from the kit of
# ../shared/tools/cuda-on-cpu/ (its setup.sh installs it).

set(SPIKESIM_CHIPSTAR_PREFIX /opt/chipstar-1.2.1 CACHE PATH
    "chipStar's install (with env.sh, written by the kit's setup.sh)")
# chipStar 1.2.1 lower-cases CHIP_MODULE_CACHE_DIR, so the cache of compiled kernels needs a path
# without capitals; a build folder with capitals in its path keeps it under /tmp instead.
set(default_cache ${CMAKE_BINARY_DIR}/chipstar-jit-cache)
string(TOLOWER "${default_cache}" lower)
if(NOT lower STREQUAL default_cache)
  set(default_cache /tmp/spikesim-chipstar-jit-cache)
endif()
set(SPIKESIM_CHIPSTAR_CACHE_DIR ${default_cache} CACHE PATH
    "chipStar's cache of kernels compiled for the CPU device (no capitals)")
string(TOLOWER "${SPIKESIM_CHIPSTAR_CACHE_DIR}" lower)
if(NOT lower STREQUAL SPIKESIM_CHIPSTAR_CACHE_DIR)
  message(FATAL_ERROR "SPIKESIM_CHIPSTAR_CACHE_DIR=${SPIKESIM_CHIPSTAR_CACHE_DIR}: chipStar 1.2.1 "
                      "lower-cases this path, so it must have no capital letters")
endif()

set(chipstar ${SPIKESIM_CHIPSTAR_PREFIX})
foreach(f env.sh bin/cucc lib/libCHIP.so)
  if(NOT EXISTS ${chipstar}/${f})
    message(FATAL_ERROR "SPIKESIM_CUDA_EMULATION=ON: no ${chipstar}/${f} (install chipStar with "
                        "../shared/tools/cuda-on-cpu/setup.sh, or set SPIKESIM_CHIPSTAR_PREFIX)")
  endif()
endforeach()

# Every cucc compilation and every run of an emulated program goes through this script, which
# sources chipStar's env.sh (never in the shell of an nvcc build: it puts chipStar's own `nvcc`
# first on PATH) and points the kernel cache and TMPDIR (where clang leaves an empty directory
# per compilation) at folders of this build.
set(SPIKESIM_CHIPSTAR_TMPDIR ${CMAKE_BINARY_DIR}/chipstar-tmp)
set(SPIKESIM_CHIPSTAR_RUN ${CMAKE_BINARY_DIR}/chipstar-run)
configure_file(${CMAKE_CURRENT_LIST_DIR}/chipstar-run.in ${SPIKESIM_CHIPSTAR_RUN} @ONLY
               FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                WORLD_READ WORLD_EXECUTE)

# The host's flags (CMakeLists.txt): no contraction of a*b+c (nvcc's -fmad=false, which cucc
# ignores, becomes clang's -ffp-contract=off on the device too), no errno or trapping math, so
# that device and CPU round alike. No -fopenmp: clang would call LLVM's OpenMP runtime, which is
# not GCC's libgomp; the one OpenMP loop of the .cu files (decoding spike keys) runs serially.
# The warnings left out come from chipStar's headers (deprecations, #warning) and from CUDA calls
# whose results the code ignores on purpose (releases), which chipStar marks nodiscard.
# No define with a string value: cucc hands its arguments to a shell, which takes the quotes off
# (what device.cu reports as the architectures is in chipstar_compat.h).
set(emulation_dir ${CMAKE_CURRENT_LIST_DIR})
set(cucc_flags -O2 -std=c++17 -fno-math-errno -fno-trapping-math -ffp-contract=off
    -include cuda_runtime.h -include ${emulation_dir}/chipstar_compat.h
    -I${emulation_dir} -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/src
    -DSPIKESIM_CUDA_EMULATED=1
    -Wno-deprecated-declarations -Wno-\#warnings -Wno-unused-result)
# (Not the compiler's own directories, such as /usr/include: given again they break
# #include_next in the C++ library's headers.)
foreach(dir ${RANDOM123_INCLUDE_DIR} ${HDF5_INCLUDE_DIRS})
  if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    list(APPEND cucc_flags -isystem ${dir})
  endif()
endforeach()
if(SPIKESIM_CPU_ARCH)
  list(APPEND cucc_flags -march=${SPIKESIM_CPU_ARCH})
endif()
file(GLOB emulation_headers ${emulation_dir}/*.h ${emulation_dir}/cub/*.cuh
     ${emulation_dir}/cub/device/*.cuh)

set(emulated_objects)
foreach(name backend population population_setup spike_collection checkpoint_state connectivity
             device spike_delivery)
  set(cu ${PROJECT_SOURCE_DIR}/kernels/${name}.cu)
  set(obj ${CMAKE_BINARY_DIR}/chipstar-objects/${name}.o)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/chipstar-objects
    COMMAND ${SPIKESIM_CHIPSTAR_RUN} ${chipstar}/bin/cucc ${cucc_flags} -c ${cu} -o ${obj}
    DEPENDS ${cu} ${emulation_headers} ${SPIKESIM_CHIPSTAR_RUN}
    IMPLICIT_DEPENDS CXX ${cu}
    COMMENT "Building CUDA object ${name}.o with chipStar's cucc (emulated build)"
    VERBATIM)
  list(APPEND emulated_objects ${obj})
endforeach()

spikesim_core_library(spikesim_core_emulated)
target_sources(spikesim_core_emulated PRIVATE ${emulated_objects})
target_link_libraries(spikesim_core_emulated PUBLIC ${chipstar}/lib/libCHIP.so)
target_link_options(spikesim_core_emulated PUBLIC -Wl,-rpath,${chipstar}/lib)
message(STATUS "spikesim: emulated CUDA build with ${chipstar}/bin/cucc "
               "(kernel cache ${SPIKESIM_CHIPSTAR_CACHE_DIR})")
