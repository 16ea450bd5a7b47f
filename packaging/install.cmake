# What `cmake --install` lays out and what `cpack -G DEB` packages (included by the
# top-level CMakeLists.txt after the vgpu-vnc and vgpu-vncctl targets):
#   bin/vgpu-vnc, bin/vgpu-vncctl
#   share/man/man1/vgpu-vnc.1.gz     from config/config_options.c's option table (config/man_gen.c)
#   share/man/man1/vgpu-vncctl.1.gz  from vgpu-vncctl --help
#   lib/systemd/system/vgpu-vnc@.service, vgpu-vnc@.socket  (ExecStart= the installed path)
#   share/doc/vgpu-vnc/examples/vgpu-vnc.conf
# The .deb: `cmake --build build --target package` (or cpack -G DEB in the build tree);
# its Depends come from dpkg-shlibdeps, so they are the libraries the binaries link.

# ---- man pages, made at build time -----------------------------------------------------
add_executable(vgpu-vnc-man config/man_gen.c)
target_compile_options(vgpu-vnc-man PRIVATE ${VGPU_WARNINGS})
target_link_libraries(vgpu-vnc-man PRIVATE vgpu_core)

find_program(GZIP_EXECUTABLE gzip)
set(VGPU_MAN_DIR ${CMAKE_BINARY_DIR}/man)
add_custom_command(
  OUTPUT ${VGPU_MAN_DIR}/vgpu-vnc.1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${VGPU_MAN_DIR}
  COMMAND vgpu-vnc-man ${VGPU_MAN_DIR}/vgpu-vnc.1
  DEPENDS vgpu-vnc-man
  COMMENT "Generating the vgpu-vnc(1) man page from the option table")
add_custom_command(
  OUTPUT ${VGPU_MAN_DIR}/vgpu-vncctl.1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${VGPU_MAN_DIR}
  COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:vgpu-vncctl> -DVERSION=${PROJECT_VERSION}
          "-DSUMMARY=send one command to a vgpu-vnc control socket and print the reply"
          -DOUT=${VGPU_MAN_DIR}/vgpu-vncctl.1 -P ${CMAKE_SOURCE_DIR}/packaging/usage2man.cmake
  DEPENDS vgpu-vncctl ${CMAKE_SOURCE_DIR}/packaging/usage2man.cmake
  COMMENT "Generating the vgpu-vncctl(1) man page from vgpu-vncctl --help")
set(VGPU_MAN_PAGES)
foreach(page vgpu-vnc.1 vgpu-vncctl.1)
  if(GZIP_EXECUTABLE)
    # -n: no name or time stamp in the .gz, so the package builds reproducibly.
    add_custom_command(
      OUTPUT ${VGPU_MAN_DIR}/${page}.gz
      COMMAND ${GZIP_EXECUTABLE} -9nc ${VGPU_MAN_DIR}/${page} > ${VGPU_MAN_DIR}/${page}.gz
      DEPENDS ${VGPU_MAN_DIR}/${page})
    list(APPEND VGPU_MAN_PAGES ${VGPU_MAN_DIR}/${page}.gz)
  else()
    list(APPEND VGPU_MAN_PAGES ${VGPU_MAN_DIR}/${page})
  endif()
endforeach()
add_custom_target(man ALL DEPENDS ${VGPU_MAN_PAGES})

install(TARGETS vgpu-vnc vgpu-vncctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${VGPU_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# ---- systemd units: ExecStart= names the binary where this install puts it --------------
# The prefix is known only when installing (cpack installs to /usr, cmake --install to
# --prefix or CMAKE_INSTALL_PREFIX), so the unit is written then.
set(VGPU_UNIT_STAGE ${CMAKE_BINARY_DIR}/systemd)
install(CODE "
  file(READ \"${CMAKE_SOURCE_DIR}/config/vgpu-vnc@.service\" unit)
  string(REPLACE \"/usr/local/bin/vgpu-vnc \"
         \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/vgpu-vnc \" unit \"\${unit}\")
  file(WRITE \"${VGPU_UNIT_STAGE}/vgpu-vnc@.service\" \"\${unit}\")
")
install(FILES ${VGPU_UNIT_STAGE}/vgpu-vnc@.service ${CMAKE_SOURCE_DIR}/config/vgpu-vnc@.socket
        DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/config/vgpu-vnc.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# ---- the .deb ---------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vgpu-vnc)
set(CPACK_PACKAGE_VENDOR vgpu-vnc)
set(CPACK_PACKAGE_CONTACT "vgpu-vnc maintainers <vgpu-vnc@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "VNC server for virtual GPUs (VFIO mdev, GVT-g)")
set(CPACK_PACKAGE_DESCRIPTION
    "vgpu-vnc serves the display of a VFIO mediated vGPU (Intel GVT-g, the kernel's mbochs
and mdpy samples) to VNC clients, and to browsers through noVNC on the same port, as
H.264, Tight-JPEG or the classic VNC encodings. Without a device it shows a built-in
synthetic vGPU.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # vgpu-vnc_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE https://github.com/vgpu-vnc/vgpu-vnc)
# Depends: from the libraries the binaries link (dpkg-shlibdeps, in dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst: the system groups the units name (groupadd is in passwd, always installed).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
