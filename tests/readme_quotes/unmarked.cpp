// A fixture for readme_quotes_regions.cmake (not compiled): no marked region at all.
int square(int n) { return n * n; }
