// Specs nested deep in each position the grammar allows nesting.
#include "deep_specs.h"

namespace mmt::test {

std::vector<DeepSpec> deep_specs(size_t n, const std::string& over) {
    auto repeat = [](const std::string& s, size_t k) {
        std::string out;
        out.reserve(s.size() * k);
        for (size_t i = 0; i < k; ++i) out += s;
        return out;
    };
    const std::string head =
        "protocol deep {\n id 9900;\n" + (over.empty() ? "" : " " + over + "\n");
    auto proto = [&](const std::string& item) {
        return head + " header { a : u8; b : u8; }\n" + item + "\n}\n";
    };
    return {
        {"parentheses", proto("attribute x : u32 = " + repeat("(", n) + "a" + repeat(")", n) + ";"),
         true},
        {"unary minus", proto("attribute x : u32 = " + repeat("-", n) + "a;"), true},
        {"complement", proto("attribute x : u32 = " + repeat("~ ", n) + "a;"), true},
        {"not", proto("attribute x : bool = " + repeat("not ", n) + "true;"), true},
        {"sum", proto("attribute x : u32 = a" + repeat(" + a", n) + ";"), true},
        {"and", proto("attribute x : bool = a == 1" + repeat(" and a == 1", n) + ";"), true},
        {"conditional", proto("attribute x : u32 = " + repeat("a == 1 ? 1 : ", n) + "0;"), true},
        {"members", proto("attribute x : u32 = a" + repeat(".b", n) + ";"), false},
        {"indexes", proto("attribute x : u8 = payload" + repeat("[0]", n) + ";"), false},
        {"calls", proto("attribute x : u32 = " + repeat("max(a, ", n) + "a" + repeat(")", n) + ";"),
         true},
        {"sets", proto("attribute x : bool = a" + repeat(" in { 1 } == true", n) + ";"), false},
        {"switches",
         head + " header { a : u8; " + repeat("switch (a) { 1 => { ", n) + "z : u8;" +
             repeat(" } }", n) + " }\n}\n",
         true},
    };
}

} // namespace mmt::test
