// Artist and title normalisation for the YouTube join (dataset.h, ANALYSIS.md §2). No ICU here: accents are
// stripped from the Latin-1 and Latin Extended-A letters, which covers the Spotify data's accented titles;
// other scripts are kept as they are (both sides of the join go through the same function).
#include <cstdint>
#include <string>
#include <string_view>

#include "data/dataset.h"

namespace tmk {

namespace {

// Base letters of U+00C0..U+00FF; '*' marks a special case handled in foldLatin.
constexpr std::string_view kLatin1 = "aaaaaa*ceeeeiiiidnooooo*ouuuuy**aaaaaa*ceeeeiiiidnooooo*ouuuuy*y";
// Base letters of U+0100..U+017F; '*' marks a ligature.
constexpr std::string_view kLatinExtendedA
    = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii**jjkkkllllllllllnnnnnnnnnoooooo**"
      "rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

// Appends the folded form of code point `cp` (lower-case, no accent) or returns false when it is kept as is.
static_assert(kLatin1.size() == 64 && kLatinExtendedA.size() == 128);

bool foldLatin(char32_t cp, std::string& out)
{
    if (cp >= 0xC0 && cp <= 0xFF) {
        const char base = kLatin1[cp - 0xC0];
        if (base != '*') {
            out += base;
        } else if (cp == 0xC6 || cp == 0xE6) {
            out += "ae";
        } else if (cp == 0xDE || cp == 0xFE) {
            out += "th";
        } else if (cp == 0xDF) {
            out += "ss";
        } else {
            out += ' '; // multiplication and division signs
        }
        return true;
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        const char base = kLatinExtendedA[cp - 0x100];
        if (base != '*')
            out += base;
        else
            out += (cp == 0x132 || cp == 0x133) ? "ij" : "oe";
        return true;
    }
    if (cp >= 0x300 && cp <= 0x36F) return true; // combining accents: dropped
    if (cp < 0xC0 || (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F)) {
        out += ' '; // Latin-1 punctuation, general punctuation (quotes, dashes), CJK punctuation
        return true;
    }
    return false;
}

// Decodes one UTF-8 sequence at text[i]; returns its length (1 for an invalid byte, whose cp is the byte).
size_t decodeUtf8(std::string_view text, size_t i, char32_t& cp)
{
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (length == 1 || i + length > text.size()) {
        cp = lead;
        return 1;
    }
    cp = lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            cp = lead;
            return 1;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    return length;
}

bool isAsciiAlnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string collapseSpaces(const std::string& text)
{
    std::string out;
    out.reserve(text.size());
    bool pendingSpace = false;
    for (char c : text) {
        if (c == ' ') {
            pendingSpace = !out.empty();
            continue;
        }
        if (pendingSpace) out += ' ';
        pendingSpace = false;
        out += c;
    }
    return out;
}

// Drops "(...)" and "[...]" (nesting allowed; an unclosed bracket drops the rest).
std::string dropBrackets(std::string_view text)
{
    std::string out;
    int depth = 0;
    for (char c : text) {
        if (c == '(' || c == '[')
            ++depth;
        else if ((c == ')' || c == ']') && depth > 0)
            --depth;
        else if (depth == 0)
            out += c;
    }
    return out;
}

// Cuts at the first "feat." or "ft." that starts a word.
void cutFeaturing(std::string& text)
{
    for (size_t i = 0; i < text.size(); ++i) {
        if (i > 0 && isAsciiAlnum(text[i - 1])) continue;
        for (std::string_view marker : { std::string_view("feat."), std::string_view("ft.") }) {
            if (text.size() - i < marker.size()) continue;
            bool same = true;
            for (size_t k = 0; k < marker.size() && same; ++k) {
                char c = text[i + k];
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                same = c == marker[k];
            }
            if (same) {
                text.resize(i);
                return;
            }
        }
    }
}

} // namespace

std::string normaliseStrict(std::string_view text)
{
    std::string folded;
    folded.reserve(text.size() + 8);
    for (size_t i = 0; i < text.size();) {
        char32_t cp = 0;
        const size_t length = decodeUtf8(text, i, cp);
        if (length == 1 && cp < 0x80) {
            const char c = text[i];
            if (isAsciiAlnum(c))
                folded += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            else if (c == '&')
                folded += " and ";
            else
                folded += ' ';
        } else if (length == 1 || !foldLatin(cp, folded)) {
            folded.append(text.substr(i, length));
        }
        i += length;
    }
    return collapseSpaces(folded);
}

std::string normaliseTitleLoose(std::string_view text)
{
    std::string cut(text);
    if (const size_t dash = cut.find(" - "); dash != std::string::npos) cut.resize(dash);
    cut = dropBrackets(cut);
    cutFeaturing(cut);
    std::string loose = normaliseStrict(cut);
    return loose.empty() ? normaliseStrict(text) : loose;
}

} // namespace tmk
