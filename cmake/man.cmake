# man.cmake - installs the manual pages in man/ (mdoc(7) sources, linted by
# scripts/check-man.sh) into ${CMAKE_INSTALL_MANDIR}: one page per function
# family in man3, the overview libreactor(7) in man7. Included by
# cmake/install.cmake.
#
# Every other name a page documents (the `.Nm` lines of its NAME section, such
# as reactor_free in reactor_new.3) gets a symbolic link to the page, so that
# `man reactor_free` finds it. The names are read from the pages themselves,
# so a function added to a page's NAME section is linked without touching
# this file.
set(RX_MAN_DIR ${CMAKE_CURRENT_LIST_DIR}/../man)
set(RX_MAN3_PAGES
    reactor_new
    reactor_register
    reactor_select
    reactor_timer_add
    reactor_signal_add
    reactor_child_add
    reactor_post
    reactor_queue_work
    reactor_reinit
    reactor_hook_add
    reactor_strerror)
set(RX_MAN7_PAGES libreactor)

set(rx_man3_files "")
set(rx_man3_links "") # alias=page pairs
foreach(page ${RX_MAN3_PAGES})
  set(file ${RX_MAN_DIR}/${page}.3)
  list(APPEND rx_man3_files ${file})
  # The NAME section: `.Nm name ,` lines up to `.Nd`.
  file(STRINGS ${file} lines REGEX "^\\.N[md]( |$)")
  foreach(line ${lines})
    if(line MATCHES "^\\.Nd")
      break()
    endif()
    if(line MATCHES "^\\.Nm ([A-Za-z0-9_]+)" AND NOT CMAKE_MATCH_1 STREQUAL page)
      list(APPEND rx_man3_links "${CMAKE_MATCH_1}=${page}")
    endif()
  endforeach()
endforeach()
set(rx_man7_files "")
foreach(page ${RX_MAN7_PAGES})
  list(APPEND rx_man7_files ${RX_MAN_DIR}/${page}.7)
endforeach()

install(FILES ${rx_man3_files} DESTINATION ${CMAKE_INSTALL_MANDIR}/man3 COMPONENT dev)
install(FILES ${rx_man7_files} DESTINATION ${CMAKE_INSTALL_MANDIR}/man7 COMPONENT dev)

# The links are made at install time, under the prefix and DESTDIR given then
# (`cmake --install --prefix`, CPack), relative to their own directory, and
# recorded in install_manifest.txt. Where symbolic links are not possible the
# page is copied instead.
if(IS_ABSOLUTE "${CMAKE_INSTALL_MANDIR}")
  set(rx_man3_dir "${CMAKE_INSTALL_MANDIR}/man3")
else()
  set(rx_man3_dir "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man3")
endif()
install(CODE "
  set(dir \"\$ENV{DESTDIR}${rx_man3_dir}\")
  foreach(pair ${rx_man3_links})
    string(REPLACE \"=\" \";\" pair \"\${pair}\")
    list(GET pair 0 alias)
    list(GET pair 1 page)
    message(STATUS \"Installing: \${dir}/\${alias}.3 -> \${page}.3\")
    file(CREATE_LINK \"\${page}.3\" \"\${dir}/\${alias}.3\" SYMBOLIC COPY_ON_ERROR)
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${dir}/\${alias}.3\")
  endforeach()
" COMPONENT dev)
