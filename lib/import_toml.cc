// detour: netlify.toml -> JSON (lib/import_toml.h). toml++ parses; every
// table of the "redirects" array is written with toml::json_formatter and
// given the line it starts on as "__line".
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include <toml++/toml.h>

#include "import_toml.h"

extern "C" char *detour_toml_redirects_json(const char *buf, size_t len, char *err, size_t cap)
{
	try {
		toml::table doc = toml::parse(std::string_view(buf, len));
		std::ostringstream out;
		out << "{\"redirects\":[";
		if (const toml::array *a = doc["redirects"].as_array()) {
			bool first = true;
			for (const toml::node &n : *a) {
				const toml::table *t = n.as_table();
				if (t == nullptr)
					continue;
				toml::table copy = *t;
				copy.insert_or_assign("__line",
				                      static_cast<int64_t>(t->source().begin.line));
				out << (first ? "" : ",") << toml::json_formatter{copy};
				first = false;
			}
		}
		out << "]}";
		std::string s = out.str();
		char *r = static_cast<char *>(std::malloc(s.size() + 1));
		if (r)
			std::memcpy(r, s.c_str(), s.size() + 1);
		else
			std::snprintf(err, cap, "out of memory");
		return r;
	} catch (const toml::parse_error &e) {
		std::snprintf(err, cap, "%u:%u: %.*s", (unsigned)e.source().begin.line,
		              (unsigned)e.source().begin.column, (int)e.description().size(),
		              e.description().data());
	} catch (...) {
		std::snprintf(err, cap, "cannot convert the TOML document");
	}
	return nullptr;
}
