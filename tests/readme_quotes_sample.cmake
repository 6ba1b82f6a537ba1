# cmake -D README=<README.md> -D SAMPLE=<file.cpp> -P readme_quotes_sample.cmake
# Fails unless README contains the sample's text verbatim, so the docs cannot drift.
file(READ "${README}" readme)
file(READ "${SAMPLE}" sample)
string(FIND "${readme}" "${sample}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "${README} does not quote ${SAMPLE} verbatim: paste the sample again")
endif()
