// The runtime's version and ABI, for tools that print them.
#include "mmt/abi.h"
#include "mmt/runtime.h"
#include "mmtc/compiler.h"

extern "C" unsigned mmt_runtime_abi_version(void) {
    return MMT_ABI_VERSION;
}

std::string mmt::version_text() {
    return mmtc::versionText();
}
