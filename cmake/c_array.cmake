# to_c_array(FILE VAR OUT): the bytes of FILE as a C array VAR (NUL-terminated, so text can be
# used as a C string) and VAR_len its length without the NUL; the C source goes into OUT.
# Shared by embed.cmake and embed_web.cmake.
function(to_c_array file var out)
  file(READ ${file} hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR len "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  set(${out} "static const unsigned char ${var}[] = {${body}0x00};\nstatic const unsigned long ${var}_len = ${len};\n" PARENT_SCOPE)
endfunction()
