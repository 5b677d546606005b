# Install layout (`cmake --install build --prefix /usr` or the .deb from `cpack`):
#   bin/tastemaker, bin/tastemaker-cli
#   share/tastemaker/resources/       metrics.json, presets/ (found at run time beside bin/, see resourcesDir())
#   share/tastemaker/models/          the bundled models (demo/ when committed, default-tiny/) and the tokenizer
#   share/applications/, share/icons/ the desktop entry and the icon
install(FILES ${CMAKE_SOURCE_DIR}/resources/metrics.json DESTINATION share/tastemaker/resources)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/resources/presets DESTINATION share/tastemaker/resources)
install(FILES ${CMAKE_SOURCE_DIR}/models/tokenizer/spiece.model DESTINATION share/tastemaker/models/tokenizer)
install(DIRECTORY ${CMAKE_BINARY_DIR}/models/default-tiny DESTINATION share/tastemaker/models)
# The trained demo model (issue 14, models/demo) and its adapter bank with its steering report (issue 15,
# models/demo-bank): the app opens both on first start.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/models/demo DESTINATION share/tastemaker/models OPTIONAL)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/models/demo-bank DESTINATION share/tastemaker/models OPTIONAL)
if(TM_BUILD_UI)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/tastemaker.desktop DESTINATION share/applications)
  install(FILES ${CMAKE_SOURCE_DIR}/resources/icons/tastemaker.svg DESTINATION share/icons/hicolor/scalable/apps)
endif()

set(CPACK_PACKAGE_NAME tastemaker)
set(CPACK_PACKAGE_VENDOR "Tastemaker")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Make music with MusicGen, steered by 13 bipolar sliders")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Tastemaker developers")
set(CPACK_DEBIAN_PACKAGE_SECTION sound)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
include(CPack)
