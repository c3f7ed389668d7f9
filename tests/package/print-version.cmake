# cmake -DF=<svmrtConfigVersion.cmake> -P print-version.cmake
# prints the version the CMake package says it is
set(PACKAGE_FIND_VERSION 0.0.0)
include(${F})
message("${PACKAGE_VERSION}")
