/* detour base: the ASCII class table (see ascii.h). */
#include "base/ascii.h"

#define D (ASCII_DIGIT | ASCII_HEX | ASCII_TCHAR)
#define X (ASCII_ALPHA | ASCII_HEX | ASCII_TCHAR)
#define A (ASCII_ALPHA | ASCII_TCHAR)
#define T ASCII_TCHAR

const uint8_t ascii_class[256] = {
        ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D, ['5'] = D,  ['6'] = D, ['7'] = D,
        ['8'] = D, ['9'] = D,

        ['A'] = X, ['B'] = X, ['C'] = X, ['D'] = X, ['E'] = X, ['F'] = X,  ['G'] = A, ['H'] = A,
        ['I'] = A, ['J'] = A, ['K'] = A, ['L'] = A, ['M'] = A, ['N'] = A,  ['O'] = A, ['P'] = A,
        ['Q'] = A, ['R'] = A, ['S'] = A, ['T'] = A, ['U'] = A, ['V'] = A,  ['W'] = A, ['X'] = A,
        ['Y'] = A, ['Z'] = A,

        ['a'] = X, ['b'] = X, ['c'] = X, ['d'] = X, ['e'] = X, ['f'] = X,  ['g'] = A, ['h'] = A,
        ['i'] = A, ['j'] = A, ['k'] = A, ['l'] = A, ['m'] = A, ['n'] = A,  ['o'] = A, ['p'] = A,
        ['q'] = A, ['r'] = A, ['s'] = A, ['t'] = A, ['u'] = A, ['v'] = A,  ['w'] = A, ['x'] = A,
        ['y'] = A, ['z'] = A,

        ['!'] = T, ['#'] = T, ['$'] = T, ['%'] = T, ['&'] = T, ['\''] = T, ['*'] = T, ['+'] = T,
        ['-'] = T, ['.'] = T, ['^'] = T, ['_'] = T, ['`'] = T, ['|'] = T,  ['~'] = T,
};
