# ctest build/mail-embed: cmake/embed_mail.cmake builds mail/ as it is, and refuses
# (fails the build) for each broken copy of it below. Inputs: SRC (the source tree), TMP
# (a scratch directory of this test).
cmake_minimum_required(VERSION 3.25)
set(script ${SRC}/cmake/embed_mail.cmake)

function(embed dir ret)
  execute_process(COMMAND ${CMAKE_COMMAND} -DOUT=${TMP}/out.c -DMAIL_DIR=${dir} -P ${script}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  set(${ret} ${rc} PARENT_SCOPE)
  set(${ret}_err "${err}" PARENT_SCOPE)
endfunction()

# case | file to change | regex (DELETE: remove the file, COPY: copy it to <replacement>) |
# replacement | what the refusal must say
set(cases
  "unknown placeholder|email-changed.en.txt|{{login}}|{{logn}}|unknown placeholder {{logn}}"
  "flag used as text|email-changed.en.txt|{{login}}|{{forced}}|is a flag"
  "text opens a section|email-changed.en.txt|{{login}}|{{#login}}x{{/login}}|only a flag opens"
  "unclosed tag|email-changed.en.txt|{{login}}|{{login|does not open a tag"
  "spaces in a tag|email-changed.en.txt|{{login}}|{{ login }}|malformed tag"
  "no Subject line|email-changed.en.txt|^Subject:|Subj:|the first line must be"
  "no empty line after Subject|email-changed.en.txt|\n\n|\n|the first line must be"
  "one language missing|email-changed.en.txt|DELETE||both mail/email-changed.ja.txt"
  "unsupported language|test.ja.txt|COPY|test.de.txt|a template is named"
  "bad name|test.ja.txt|COPY|Test_Mail.ja.txt|a template is named"
  "placeholder listed twice|placeholders.txt|\nlogin |\nlogin text x\nlogin |login is listed twice")

set(ok_dir ${TMP}/ok)
file(REMOVE_RECURSE ${ok_dir})
file(COPY ${SRC}/mail/ DESTINATION ${ok_dir})
embed(${ok_dir} rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mail/ as checked in does not embed:\n${rc_err}")
endif()

set(failed 0)
foreach(c IN LISTS cases)
  string(REPLACE "|" ";" parts "${c}")
  list(GET parts 0 what)
  list(GET parts 1 file)
  list(GET parts 2 from)
  list(GET parts 3 to)
  list(GET parts 4 why)
  set(dir ${TMP}/case)
  file(REMOVE_RECURSE ${dir})
  file(COPY ${SRC}/mail/ DESTINATION ${dir})
  if(from STREQUAL "DELETE")
    file(REMOVE ${dir}/${file})
  elseif(from STREQUAL "COPY")
    file(COPY_FILE ${dir}/${file} ${dir}/${to})
  else()
    file(READ ${dir}/${file} text)
    string(REGEX REPLACE "${from}" "${to}" changed "${text}")
    if(changed STREQUAL text)
      message(FATAL_ERROR "case \"${what}\": ${from} not found in mail/${file}")
    endif()
    file(WRITE ${dir}/${file} "${changed}")
  endif()
  embed(${dir} rc)
  if(rc EQUAL 0)
    message(SEND_ERROR "case \"${what}\": embed_mail.cmake accepted it")
    math(EXPR failed "${failed} + 1")
  elseif(NOT rc_err MATCHES "${why}")
    message(SEND_ERROR "case \"${what}\": refused, but not saying \"${why}\":\n${rc_err}")
    math(EXPR failed "${failed} + 1")
  else()
    message(STATUS "refused as it should (${what})")
  endif()
endforeach()
file(REMOVE_RECURSE ${TMP}/ok ${TMP}/case)
if(failed)
  message(FATAL_ERROR "${failed} broken template(s) would have built")
endif()
