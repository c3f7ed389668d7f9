# Turns a text file into a C header holding it as a NUL-terminated char
# array, so the runtime carries the report's HTML template and the source
# tree keeps it readable. Usage:
#   cmake -DINPUT=file -DOUTPUT=header.h -DNAME=symbol -P embed-file.cmake
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp"
  "/* generated from ${INPUT} by cmake/embed-file.cmake; do not edit */\n"
  "static const char ${NAME}[] = {\n${bytes}0x00\n};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
