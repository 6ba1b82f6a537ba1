// A fixture for readme_quotes_regions.cmake (not compiled): three marked regions, one indented
// and nested in another (whose quoted text leaves out the inner markers).
// readme: begin square
int square(int n) { return n * n; }
// readme: end square

// readme: begin sum
int sum_of_squares(int count) {
    int sum = 0;
    // readme: begin loop
    for (int i = 0; i < count; ++i) {
        sum += square(i);  // a comment with ; and [brackets] and "quotes"
    }
    // readme: end loop
    return sum;
}
// readme: end sum
