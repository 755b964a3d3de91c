// Pass check-services: every `service` of the library, its host names and its address
// prefixes checked and put in the one form the code generator emits (docs/services.md).
// A host name suffix, or a prefix, belongs to one service: naming it twice is an error,
// with a note at the first; a longer suffix or prefix inside another service's is fine
// (the most specific one wins when flows are named).
#include "sema/sema.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <arpa/inet.h>

namespace mmtc::sema {

namespace {

/// The host name `raw` lower-cased, without a final dot, "*." kept; "" with `why` set
/// when it is not a host name.
std::string hostPattern(const std::string& raw, std::string& why) {
    std::string s = raw;
    if (!s.empty() && s.back() == '.') s.pop_back();
    std::string prefix;
    if (s.rfind("*.", 0) == 0) {
        prefix = "*.";
        s = s.substr(2);
    }
    if (s.empty()) {
        why = "it has no labels";
        return {};
    }
    if (s.size() > 253) {
        why = "it is longer than 253 characters";
        return {};
    }
    size_t label = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '.') {
            if (label == 0) {
                why = "it has an empty label";
                return {};
            }
            if (label > 63) {
                why = "a label is longer than 63 characters";
                return {};
            }
            label = 0;
            continue;
        }
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '*') {
            why = "'*' is allowed only as its first label, in '*.'";
            return {};
        }
        if (!std::isalnum(c) && c != '-' && c != '_') {
            why = "labels hold letters, digits, '-' and '_' only";
            return {};
        }
        s[i] = char(std::tolower(c));
        ++label;
    }
    return prefix + s;
}

std::string prefixText(const ServicePrefix& p) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(p.family == 4 ? AF_INET : AF_INET6, p.addr.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(p.length);
}

/// Decodes "ADDRESS/LENGTH" (or an address alone, a prefix of its full length); false
/// with `why` set when it is not one.
bool parsePrefix(const std::string& s, ServicePrefix& out, std::string& why) {
    size_t slash = s.find('/');
    std::string addr = s.substr(0, slash);
    if (inet_pton(AF_INET, addr.c_str(), out.addr.data()) == 1) {
        out.family = 4;
    } else if (inet_pton(AF_INET6, addr.c_str(), out.addr.data()) == 1) {
        out.family = 6;
    } else {
        why = addr.empty() ? "the address is missing"
                           : "'" + addr + "' is not an IPv4 or IPv6 address";
        return false;
    }
    unsigned max = out.family == 4 ? 32 : 128;
    if (slash == std::string::npos) {
        out.length = uint8_t(max);
        return true;
    }
    std::string len = s.substr(slash + 1);
    unsigned n = 0;
    bool digits = !len.empty() && len.size() <= 3 &&
                  std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) n = unsigned(std::stoul(len));
    if (!digits || n > max) {
        why = "the length must be a number from 0 to " + std::to_string(max);
        return false;
    }
    out.length = uint8_t(n);
    return true;
}

/// The prefix with the bits past its length cleared.
ServicePrefix masked(ServicePrefix p) {
    unsigned bytes = p.family == 4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; ++i) {
        unsigned keep = p.length > 8 * i ? std::min(8u, p.length - 8 * i) : 0;
        p.addr[i] &= uint8_t(keep == 0 ? 0 : 0xff << (8 - keep));
    }
    return p;
}

} // namespace

void checkServices(SemaContext& ctx) {
    std::map<std::string, const ast::Service*> byName;
    // Who claimed each host name (without "*.") and each prefix first.
    std::map<std::string, std::pair<const ast::Service*, SourceRange>> hosts;
    std::map<std::string, std::pair<const ast::Service*, SourceRange>> prefixes;
    for (auto& file : ctx.module.files) {
        for (auto& s : file->services) {
            auto [it, fresh] = byName.emplace(s->name, s.get());
            if (!fresh) {
                ctx.diags.report(DiagKind::DuplicateService, s->nameRange, s->name);
                ctx.diags.note(DiagKind::FirstDeclaredHere, it->second->nameRange, s->name);
                continue;
            }
            ServiceDef def;
            def.name = s->name;
            for (const auto& n : s->names) {
                if (n.text.empty()) {
                    ctx.diags.report(DiagKind::EmptyString, n.range, "a host name");
                    continue;
                }
                std::string why;
                std::string pattern = hostPattern(n.text, why);
                if (pattern.empty()) {
                    ctx.diags.report(DiagKind::BadHostPattern, n.range, n.text, why);
                    continue;
                }
                std::string key = pattern.rfind("*.", 0) == 0 ? pattern.substr(2) : pattern;
                auto [h, first] = hosts.emplace(key, std::make_pair(s.get(), n.range));
                if (!first) {
                    ctx.diags.report(DiagKind::HostClaimedTwice, n.range, key,
                                     h->second.first->name, s->name);
                    ctx.diags.note(DiagKind::HostClaimedHere, h->second.second, key);
                    continue;
                }
                def.names.push_back(pattern);
            }
            for (const auto& p : s->prefixes) {
                ServicePrefix prefix;
                std::string why;
                if (!parsePrefix(p.text, prefix, why)) {
                    ctx.diags.report(DiagKind::BadPrefix, p.range, p.text, why);
                    continue;
                }
                ServicePrefix clean = masked(prefix);
                if (clean.addr != prefix.addr) {
                    ctx.diags.report(DiagKind::PrefixHostBits, p.range, p.text, prefixText(clean));
                    continue;
                }
                std::string key = prefixText(clean);
                auto [h, first] = prefixes.emplace(key, std::make_pair(s.get(), p.range));
                if (!first) {
                    ctx.diags.report(DiagKind::PrefixClaimedTwice, p.range, key,
                                     h->second.first->name, s->name);
                    ctx.diags.note(DiagKind::PrefixClaimedHere, h->second.second, key);
                    continue;
                }
                def.prefixes.push_back(clean);
            }
            ctx.services.push_back(std::move(def));
        }
    }
    std::sort(ctx.services.begin(), ctx.services.end(),
              [](const ServiceDef& a, const ServiceDef& b) { return a.name < b.name; });
}

} // namespace mmtc::sema
