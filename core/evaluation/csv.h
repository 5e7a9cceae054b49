// The CSV cells of every table and figure the reports write.
#pragma once

#include <string>

namespace igpg {

// RFC 4180: the text, quoted when it holds separators, quotes or line breaks.
std::string csvField(const std::string& text);
// The shortest text that parses back to the same double ("nan", "inf", "-inf" otherwise).
std::string exactNumber(double v);

}  // namespace igpg
