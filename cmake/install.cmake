# `cmake --install`: the tools, the libraries with their headers, the built-in protocol
# library, manual pages, a pkg-config file and a CMake package (find_package(mmt-journey)).
# The layout is relocatable: a prefix copied elsewhere still finds its specs.
include(CMakePackageConfigHelpers)

install(TARGETS mmtrun mmtc_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mmtrun_full RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mmt-journey)

# Static archives: libmmt_runtime (the journey, and libraries built ahead of time) with
# libmmt_core (the object loader and the helpers generated code calls) need libpcap, fmt and
# libcrypto only; libmmt adds compiling specs at load time and display filters, through
# libmmtc (the spec compiler), LLVM and the ANTLR runtime.
set_target_properties(mmt PROPERTIES EXPORT_NAME runtime)
set_target_properties(mmt_core PROPERTIES EXPORT_NAME core)
set_target_properties(mmt_runtime PROPERTIES EXPORT_NAME runtime_core)
set_target_properties(mmtc PROPERTIES EXPORT_NAME compiler)
set_target_properties(mmtc_stamp PROPERTIES EXPORT_NAME compiler_stamp)
set_target_properties(mmtp_grammar PROPERTIES EXPORT_NAME grammar)
install(TARGETS mmt mmt_runtime mmt_core mmtc mmtc_stamp mmtp_grammar mmt_antlr mmt_llvm mmt_warnings
  EXPORT mmt-journey-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/runtime/include/mmt/abi.h
  ${PROJECT_SOURCE_DIR}/runtime/include/mmt/runtime.h
  ${PROJECT_SOURCE_DIR}/runtime/include/mmt/writer.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mmt)
install(FILES ${PROJECT_SOURCE_DIR}/compiler/include/mmtc/compiler.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mmtc)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/protocols.dsl/ DESTINATION ${MMT_INSTALL_SPEC_DIR})
# Manual pages, made from the tools' Markdown manuals.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(MMT_MAN_PAGES "")
foreach(tool mmtrun mmtc)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/man/${tool}.1
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND Python3::Interpreter ${PROJECT_SOURCE_DIR}/docs/man/md2man.py
            ${PROJECT_SOURCE_DIR}/docs/${tool}.md ${PROJECT_VERSION} ${PROJECT_BINARY_DIR}/man/${tool}.1
    DEPENDS ${PROJECT_SOURCE_DIR}/docs/${tool}.md ${PROJECT_SOURCE_DIR}/docs/man/md2man.py
    COMMENT "Writing the manual page of ${tool}" VERBATIM)
  list(APPEND MMT_MAN_PAGES ${PROJECT_BINARY_DIR}/man/${tool}.1)
endforeach()
add_custom_target(man_pages ALL DEPENDS ${MMT_MAN_PAGES})
install(FILES ${MMT_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(MMT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mmt-journey)
install(EXPORT mmt-journey-targets NAMESPACE mmt:: DESTINATION ${MMT_CMAKE_DIR})
get_target_property(MMT_LLVM_SHARED LLVM LOCATION)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mmt-journey-config.cmake.in
  ${PROJECT_BINARY_DIR}/mmt-journey-config.cmake INSTALL_DESTINATION ${MMT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mmt-journey-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mmt-journey-config.cmake
  ${PROJECT_BINARY_DIR}/mmt-journey-config-version.cmake DESTINATION ${MMT_CMAKE_DIR})

# The prefix, relative to the .pc file's folder (lib/pkgconfig or lib/<triplet>/pkgconfig).
file(RELATIVE_PATH MMT_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" MMT_PC_TO_PREFIX "${MMT_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mmt-journey.pc.in
  ${PROJECT_BINARY_DIR}/mmt-journey.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mmt-journey.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
