// A fixture for readme_quotes_regions.cmake (not compiled): region 'b' has no end marker.
// readme: begin a
int square(int n) { return n * n; }
// readme: end a
// readme: begin b
int cube(int n) { return n * n * n; }
