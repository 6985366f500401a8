// vmi-fields: prints the README's table of KubeVirt features (generated from
// the field policy), or rewrites it in place between its markers:
//   vmi-fields                      print the markdown table
//   vmi-fields --update-readme FILE replace the table in FILE
// tests/vmi/readme_table_test.cpp fails when README.md's copy differs.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "vmi/field_table.hpp"

int main(int argc, char** argv) {
    const std::string table = vmi::field_table_markdown();
    if (argc == 1 || (argc == 2 && std::string(argv[1]) == "--markdown")) {
        std::cout << table;
        return 0;
    }
    if (argc == 3 && std::string(argv[1]) == "--update-readme") {
        std::ifstream in(argv[2]);
        std::stringstream text;
        text << in.rdbuf();
        if (!in) {
            std::cerr << "vmi-fields: cannot read " << argv[2] << "\n";
            return 1;
        }
        const std::string updated = vmi::with_field_table(text.str(), table);
        if (updated.empty()) {
            std::cerr << "vmi-fields: " << argv[2] << " lacks the markers " << vmi::field_table_begin << " and "
                      << vmi::field_table_end << "\n";
            return 1;
        }
        std::ofstream out(argv[2], std::ios::trunc);
        out << updated;
        if (!out.flush()) {
            std::cerr << "vmi-fields: cannot write " << argv[2] << "\n";
            return 1;
        }
        return 0;
    }
    std::cerr << "usage: vmi-fields [--markdown] | vmi-fields --update-readme README.md\n";
    return 2;
}
