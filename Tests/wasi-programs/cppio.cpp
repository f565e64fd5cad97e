// What a C++ program does with files through libc++ (iostreams) on WASI: write, append and read
// files with fstream, seek to the end, rename and remove with <cstdio>, in the preopened
// /sandbox. libc++ 16's WASI build has no <filesystem>, so directories are not exercised here.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

int main() {
    const std::string dir = "/sandbox";
    const std::string file = dir + "/notes.txt";
    {
        std::ofstream out(file);
        if (!out) { std::cout << "cannot create " << file << "\n"; return 1; }
        out << "alpha 3\nbeta 1\n";
    }
    {
        std::ofstream out(file, std::ios::app);
        out << "gamma 2\n";
    }
    std::map<std::string, int> counts;
    {
        std::ifstream in(file);
        std::string word;
        int n;
        while (in >> word >> n) counts[word] = n;
    }
    std::vector<std::pair<int, std::string>> sorted;
    for (auto &[word, n] : counts) sorted.push_back({n, word});
    std::sort(sorted.begin(), sorted.end());
    for (auto &[n, word] : sorted) std::cout << n << " " << word << "\n";
    std::ifstream sizeProbe(file, std::ios::ate | std::ios::binary);
    std::cout << "size " << sizeProbe.tellg() << "\n";
    std::cout << "rename " << std::rename(file.c_str(), (dir + "/renamed.txt").c_str()) << "\n";
    std::ifstream gone(file);
    std::cout << "old name opens " << bool(gone) << "\n";
    std::cout << "remove " << std::remove((dir + "/renamed.txt").c_str()) << "\n";
    std::cout << "remove again " << std::remove((dir + "/renamed.txt").c_str()) << "\n";
    std::ifstream missing(dir + "/missing.txt");
    std::cout << "missing opens " << bool(missing) << "\n";
    return 0;
}
