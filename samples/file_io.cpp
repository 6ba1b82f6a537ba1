// file_io: async files (aiofiles' model: each system call runs on the blocking pool, so the
// event loops never wait on the disk). Writes a file atomically, reads it back whole, then
// line by line, appends to it, and removes it. Checks the contents at every step.
//
//   async with aiofiles.open(path, 'w') as f: await f.write(text)
//   async with aiofiles.open(path) as f:
//       async for line in f: ...
#include <weft/weft.hpp>

#include <unistd.h>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

weft::Task<int> file_io(fs::path path, int lines) {
    int wrong = 0;
    std::string text;
    for (int i = 0; i < lines; ++i) text += "line " + std::to_string(i) + '\n';

    // readme: begin files
    // Whole-file write and read. write_file replaces the file atomically (a temporary file
    // beside it, then a rename), so a reader never sees half of it.
    co_await weft::fs::write_file(path, text);
    std::string back = co_await weft::fs::read_file(path);  // await f.read()
    std::cout << "wrote and read back " << back.size() << " bytes\n";
    wrong += (back != text);

    // Line by line: read_line() returns nullopt at the end of the file.
    int count = 0;
    {
        auto file = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::read);
        while (auto line = co_await file.read_line()) {  // async for line in f
            wrong += (*line != "line " + std::to_string(count));
            ++count;
        }
        co_await file.close();
    }
    // readme: end files
    std::cout << "read " << count << " lines\n";
    wrong += (count != lines);

    // Append: every write goes to the end.
    {
        auto file = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::append);
        co_await file.write("the end\n");
        co_await file.close();  // reports a failed close; the destructor would close silently
    }
    back = co_await weft::fs::read_file(path);
    wrong += (back != text + "the end\n");

    // A missing file: IoError with errno and path, as FileNotFoundError.
    try {
        co_await weft::fs::read_file(path.string() + ".missing");
        ++wrong;
    } catch (const weft::IoError& e) {
        std::cout << "as expected: " << e.what() << '\n';
    }

    fs::remove(path);  // os.remove(path)
    wrong += fs::exists(path);
    co_return wrong;
}

int main() {
    const int lines = 10'000;
    fs::path path = fs::temp_directory_path() / ("weft-file_io-" + std::to_string(getpid()) + ".txt");
    int wrong = weft::run(file_io(path, lines), weft::RuntimeOptions{.workers = 2});
    if (wrong != 0) return 1;
    std::cout << "file_io: 10000 lines written, read back whole and line by line, appended to, removed\n";
}
