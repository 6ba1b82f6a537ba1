# cmake -D README=<README.md> -D SAMPLE=<file.cpp> -P readme_quotes_regions.cmake
# The README quotes excerpts of a sample: the sample marks each one with comment lines
#     // readme: begin <name>
#     ...
#     // readme: end <name>
# This fails unless README contains every marked region's text (the lines between the markers,
# markers excluded, indentation kept) verbatim, so an excerpt cannot drift from the sample. It
# also fails on a sample without regions and on unpaired, repeated or empty regions. Regions
# may nest or overlap: a region's text leaves out the marker lines inside it.
# A failure is printed unwrapped (FATAL_ERROR wraps long lines), for ctest's regular expressions.
function(fail)
    string(JOIN "" text ${ARGN})
    message(NOTICE "readme_quotes: ${text}")
    message(FATAL_ERROR "readme_quotes: failed")
endfunction()

file(READ "${README}" readme)
file(READ "${SAMPLE}" sample)
get_filename_component(sample_name "${SAMPLE}" NAME)

set(name_re "[A-Za-z0-9_.-]+")
string(REGEX MATCHALL "// readme: begin ${name_re}\n" begins "${sample}")
string(REGEX MATCHALL "// readme: end ${name_re}\n" ends "${sample}")
string(REGEX MATCHALL "// readme:[^\n]*" all_markers "${sample}")
list(LENGTH begins begin_count)
list(LENGTH ends end_count)
list(LENGTH all_markers marker_count)
math(EXPR well_formed "${begin_count} + ${end_count}")
if(NOT marker_count EQUAL well_formed)
    string(REPLACE ";" ", " all_markers "${all_markers}")
    fail("${sample_name}: a `// readme:` line is neither `// readme: begin <name>` nor "
         "`// readme: end <name>`: ${all_markers}")
endif()
if(begin_count EQUAL 0)
    fail("${sample_name} marks no `// readme: begin <name>` region for ${README} to quote")
endif()

set(names "")
foreach(begin IN LISTS begins)
    string(REGEX REPLACE "^// readme: begin (${name_re})\n$" "\\1" name "${begin}")
    list(APPEND names "${name}")
endforeach()
set(unique_names ${names})
list(REMOVE_DUPLICATES unique_names)
list(LENGTH unique_names unique_count)
if(NOT unique_count EQUAL begin_count)
    string(REPLACE ";" ", " names "${names}")
    fail("${sample_name}: a region name is used twice: ${names}")
endif()
if(NOT end_count EQUAL begin_count)
    fail("${sample_name}: ${begin_count} `// readme: begin` but ${end_count} `// readme: end` lines")
endif()

set(missing "")
foreach(name IN LISTS names)
    string(FIND "${sample}" "// readme: begin ${name}\n" begin_at)
    string(FIND "${sample}" "// readme: end ${name}\n" end_at)
    if(end_at EQUAL -1 OR end_at LESS begin_at)
        fail("${sample_name}: region '${name}' has no `// readme: end ${name}` after its begin")
    endif()
    string(LENGTH "// readme: begin ${name}\n" begin_length)
    math(EXPR from "${begin_at} + ${begin_length}")
    math(EXPR span "${end_at} - ${from}")
    string(SUBSTRING "${sample}" ${from} ${span} region)
    # Drop the end marker's indentation: the region ends with the line before it.
    string(FIND "${region}" "\n" last_newline REVERSE)
    math(EXPR keep "${last_newline} + 1")
    string(SUBSTRING "${region}" 0 ${keep} region)
    # The marker lines of regions nested in this one are not part of its text.
    string(REGEX REPLACE "\n[ \t]*// readme: (begin|end) [^\n]*" "" region "\n${region}")
    string(SUBSTRING "${region}" 1 -1 region)
    if(last_newline EQUAL -1 OR region MATCHES "^[ \t\n]*$")
        fail("${sample_name}: region '${name}' is empty")
    endif()
    string(FIND "${readme}" "${region}" at)
    if(at EQUAL -1)
        list(APPEND missing "${name}")
    endif()
endforeach()
if(missing)
    string(REPLACE ";" "', '" missing "${missing}")
    fail("${README} does not quote ${sample_name} region(s) '${missing}' verbatim: "
         "paste the lines between `// readme: begin <name>` and `// readme: end <name>` again")
endif()
list(LENGTH names n)
message(STATUS "${sample_name}: ${n} region(s) quoted verbatim")
