# packaging/install.cmake — what `cmake --install` puts where, and the Debian package (CPack).
# Included by CMakeLists.txt after the tokenwatch target (GNUInstallDirs already included there,
# which also set TW_SYSCONFDIR, the directory compiled into the binary as its default config).
#
# Layout, P = CMAKE_INSTALL_PREFIX (default /usr/local; the .deb uses /usr):
#   P/bin/tokenwatch
#   SYSCONFDIR/tokenwatch/tokenwatch.yaml       SYSCONFDIR: P/etc, but /etc when P is /usr;
#                                               etc/tokenwatch.yaml: the real providers
#   SYSCONFDIR/tokenwatch/keys/                 empty: `tokenwatch keys update` writes the
#                                               providers' key sets here (not conffiles; purge
#                                               removes them). The demo configuration and its
#                                               test keys (etc/demo/) are never installed.
#   SYSCONFDIR/tokenwatch/revoked-keys.txt      revocation indicators (revoked-keys-file)
#   P/share/man/man8/tokenwatch.8.gz
#   TW_SYSTEMD_UNITDIR/tokenwatch@.service      default P/lib/systemd/system: systemd reads
#                                               /usr/lib/... and /usr/local/lib/systemd/system
#   TW_SYSTEMD_UNITDIR/tokenwatch-keys-update.{service,timer}   `keys update` daily; the .deb's
#                                               postinst enables the timer on a first install
# The units' paths (binary, configuration) follow the prefix.
#
# The .deb (`make deb`, or by hand):
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON
#   cmake --build build-deb --target tokenwatch && (cd build-deb && cpack -G DEB)
# Depends is computed by dpkg-shlibdeps (package dpkg-dev) from the binary's libraries, plus
# libcurl (opened at run time, named by hand); the
# files under SYSCONFDIR are conffiles; the maintainer scripts only tell systemd about the unit
# (the unit runs the sensor under a DynamicUser: no account to create or remove).

set(TW_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" CACHE PATH
    "where tokenwatch@.service is installed")

install(TARGETS tokenwatch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES etc/tokenwatch.yaml etc/revoked-keys.txt DESTINATION ${TW_SYSCONFDIR})
install(DIRECTORY DESTINATION ${TW_SYSCONFDIR}/keys)

# The man page, its .TH version set from project(), compressed as Debian wants it (gzip -n: no
# name or time, reproducible).
find_program(GZIP gzip)
file(READ ${CMAKE_SOURCE_DIR}/docs/tokenwatch.8 TW_MAN)
string(REGEX REPLACE "\"tokenwatch [0-9.]+\"" "\"tokenwatch ${PROJECT_VERSION}\"" TW_MAN "${TW_MAN}")
set(TW_MAN_SRC ${CMAKE_BINARY_DIR}/man/tokenwatch.8)
file(WRITE ${TW_MAN_SRC} "${TW_MAN}")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/tokenwatch.8)
if(GZIP)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/tokenwatch.8.gz
                     COMMAND ${CMAKE_COMMAND} -E copy ${TW_MAN_SRC} ${CMAKE_BINARY_DIR}/tokenwatch.8
                     COMMAND ${GZIP} -9nf ${CMAKE_BINARY_DIR}/tokenwatch.8
                     DEPENDS ${TW_MAN_SRC} VERBATIM)
  add_custom_target(tw_manpage DEPENDS ${CMAKE_BINARY_DIR}/tokenwatch.8.gz)
  add_dependencies(tokenwatch tw_manpage)
  install(FILES ${CMAKE_BINARY_DIR}/tokenwatch.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
else()
  install(FILES ${TW_MAN_SRC} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()

# The systemd units, their paths rewritten for this prefix (the sources name /usr and /etc).
foreach(unit tokenwatch@.service tokenwatch-keys-update.service tokenwatch-keys-update.timer)
  file(READ ${CMAKE_SOURCE_DIR}/etc/systemd/${unit} TW_UNIT)
  string(REPLACE "/usr/bin/tokenwatch" "${CMAKE_INSTALL_FULL_BINDIR}/tokenwatch" TW_UNIT "${TW_UNIT}")
  string(REPLACE "/etc/tokenwatch/" "${TW_SYSCONFDIR}/" TW_UNIT "${TW_UNIT}")
  string(REPLACE "ReadWritePaths=/etc/tokenwatch" "ReadWritePaths=${TW_SYSCONFDIR}" TW_UNIT
         "${TW_UNIT}")
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/systemd/${unit} CONTENT "${TW_UNIT}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${CMAKE_SOURCE_DIR}/etc/systemd/${unit})
  install(FILES ${CMAKE_BINARY_DIR}/systemd/${unit} DESTINATION ${TW_SYSTEMD_UNITDIR})
endforeach()

# ---- CPack: the .deb ----
set(TW_DEB_MAINTAINER "tokenwatch maintainers <tokenwatch@localhost>" CACHE STRING
    "Maintainer field of the .deb")
set(TW_CONFFILES "${TW_SYSCONFDIR}/tokenwatch.yaml\n${TW_SYSCONFDIR}/revoked-keys.txt\n")
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${TW_CONFFILES}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tokenwatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${TW_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "passive bearer-token (JWT) sensor writing Suricata EVE JSON")
# The package installs where this build was configured to (the binary looks for its default
# configuration there): configure with -DCMAKE_INSTALL_PREFIX=/usr for a Debian-style package.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_NAME tokenwatch)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${TW_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcurl is opened at run time by `keys update` (dlopen: sensor/trust/keys_fetch.c), so
# dpkg-shlibdeps cannot see it: named here (7.85 for CURLOPT_PROTOCOLS_STR), shlibdeps' list
# appended.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.85.0)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "passive bearer-token (JWT) sensor writing Suricata EVE JSON\n"
    "tokenwatch reads pcap/pcapng captures or live interfaces, finds bearer tokens in HTTP\n"
    "traffic, checks each against the signing keys you trust and writes Suricata-style EVE\n"
    "JSON: alerts for revoked keys, keys signing outside their issuer scope (Storm-0558),\n"
    "invalid signatures, alg none and more. Runs per interface as tokenwatch@IFACE.service.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/")
include(CPack)
