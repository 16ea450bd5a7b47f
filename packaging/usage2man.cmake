# cmake -DPROGRAM=vgpu-vncctl -DVERSION=X "-DSUMMARY=..." -DOUT=FILE -P usage2man.cmake:
# a man page whose body is PROGRAM --help as it prints it, so the two cannot disagree.
execute_process(COMMAND ${PROGRAM} --help OUTPUT_VARIABLE usage RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --help exited ${status}")
endif()
get_filename_component(name ${PROGRAM} NAME)
set(summary "${SUMMARY}")
# roff: a backslash is \e, a hyphen \-, and a line starting with '.' or ' needs \&.
string(REPLACE "\\" "\\e" usage "${usage}")
string(REPLACE "-" "\\-" usage "${usage}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" usage "${usage}")
string(REPLACE "-" "\\-" ename "${name}")
string(TOUPPER "${ename}" uname)
string(REPLACE "-" "\\-" summary "${summary}")
file(WRITE ${OUT} ".\\\" Generated from ${name} --help by packaging/usage2man.cmake; do not edit.
.TH ${uname} 1 \"\" \"${ename} ${VERSION}\" \"User Commands\"
.SH NAME
${ename} \\- ${summary}
.SH SYNOPSIS
.nf
${usage}.fi
.SH SEE ALSO
.BR vgpu\\-vnc (1)
")
