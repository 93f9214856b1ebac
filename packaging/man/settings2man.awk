# settings2man.awk: moss.conf(5) from the settings' markdown.
#
#   moss --settings-markdown > settings.md
#   awk -f settings2man.awk settings.md moss.conf.5.in > moss.conf.5
#
# The first file is the markdown `moss --settings-markdown` prints (the one
# table of settings in config/settings.c, the text of docs/settings.md); the
# second is the page's template, whose @SETTINGS@ line is replaced by the
# markdown turned into man(7) macros. Handles what that markdown uses:
# headings, paragraphs, "- " lists, one table (a .TP entry per row, columns
# found by their header's names), ``` blocks, `code`, **bold**, [links](url)
# and <!-- comments -->. Anything else is an error, so that the page cannot
# silently lose text. POSIX awk (Debian's mawk will do).

function fail(why) {
    printf "settings2man.awk: %s:%d: %s\n", FILENAME, FNR, why > "/dev/stderr"
    failed = 1
    exit 1
}

# roff-safe text: backslashes doubled as \e, a leading . or ' guarded.
function esc(s) {
    gsub(/\\/, "\\e", s)
    return s
}

function guard(s) {
    if (s ~ /^[.']/)
        s = "\\&" s
    return s
}

# Inline markdown: `code` (bold, - as \-), **bold**, [text](url) (text).
function inline(s,    out, pre, code, rest) {
    s = esc(s)
    out = ""
    while (match(s, /`[^`]*`/)) {
        pre = substr(s, 1, RSTART - 1)
        code = substr(s, RSTART + 1, RLENGTH - 2)
        rest = substr(s, RSTART + RLENGTH)
        gsub(/-/, "\\-", code)
        out = out plain(pre) "\\fB" code "\\fR"
        s = rest
    }
    return out plain(s)
}

function plain(s,    text) {
    while (match(s, /\*\*[^*]+\*\*/))
        s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 2, RLENGTH - 4) "\\fR" \
            substr(s, RSTART + RLENGTH)
    while (match(s, /\[[^]]*\]\([^)]*\)/)) {
        text = substr(s, RSTART + 1, RLENGTH - 2)
        sub(/\]\(.*$/, "", text)
        s = substr(s, 1, RSTART - 1) text substr(s, RSTART + RLENGTH)
    }
    if (s ~ /`|\*\*/)
        fail("unbalanced ` or ** in: " s)
    return s
}

function emit(line) {
    body = body line "\n"
}

# Starts a block (paragraph, list, code) after a blank line.
function block() {
    if (need_pp && !fresh)
        emit(".PP")
    need_pp = 0
    fresh = 0
}

function cell(i,    c) {
    c = cells[i]
    sub(/^ +/, "", c)
    sub(/ +$/, "", c)
    return c
}

# One table row into cells[1..n]; returns n.
function split_row(line,    n) {
    sub(/^\|/, "", line)
    sub(/\|[ ]*$/, "", line)
    return split(line, cells, "|")
}

FILENAME == ARGV[1] {
    line = $0
    if (in_comment) {
        if (line ~ /-->/)
            in_comment = 0
        next
    }
    if (in_code) {
        if (line ~ /^```/) {
            emit(".EE")
            emit(".RE")
            in_code = 0
            need_pp = 1
        } else {
            emit(guard(esc(line)))
        }
        next
    }
    if (line ~ /^<!--/) {
        in_comment = line !~ /-->/
        next
    }
    if (line ~ /^[ ]*$/) {
        need_pp = 1
        in_list = 0
        if (in_table)
            in_table = 0
        next
    }
    if (line ~ /^# /) {
        emit(".SH DESCRIPTION")
        fresh = 1
        need_pp = 0
        next
    }
    if (line ~ /^## /) {
        title = toupper(substr(line, 4))
        emit(".SH \"" title "\"")
        fresh = 1
        need_pp = 0
        next
    }
    if (line ~ /^```/) {
        block()
        emit(".RS 4")
        emit(".EX")
        in_code = 1
        next
    }
    if (line ~ /^\|/) {
        n = split_row(line)
        if (!in_table && !have_header) {
            for (i = 1; i <= n; i++)
                col[cell(i)] = i
            ncol = n
            if (!("setting" in col) || !("type" in col) || !("default" in col) ||
                !("range" in col) || !("description" in col))
                fail("the table's header lacks setting, type, default, range or description")
            have_header = 1
            in_table = 1
            emit(".SH SETTINGS")
            fresh = 1
            need_pp = 0
            next
        }
        if (line ~ /^\|[-| :]+\|[ ]*$/)
            next
        if (!in_table)
            fail("a second table")
        if (n != ncol)
            fail("a row of " n " cells, the header has " ncol)
        emit(".TP")
        emit(guard(inline(cell(col["setting"]))))
        emit(guard(inline(cell(col["description"]))) ".")
        emit(".br")
        emit("Type: " inline(cell(col["type"])) ". Default: " inline(cell(col["default"])) \
             ". Range: " inline(cell(col["range"])) ".")
        rows++
        next
    }
    if (line ~ /^- /) {
        need_pp = fresh = 0 # .IP makes its own paragraph
        emit(".IP \\(bu 2")
        emit(guard(inline(substr(line, 3))))
        in_list = 1
        next
    }
    if (in_list) {
        # a list item's continuation line
        sub(/^ +/, "", line)
        emit(guard(inline(line)))
        next
    }
    if (line ~ /^(#|>|\* |[0-9]+\. |    )/)
        fail("markdown this script does not handle: " line)
    if (need_pp || fresh)
        block()
    emit(guard(inline(line)))
    next
}

$0 == "@SETTINGS@" {
    if (rows == 0)
        fail("no settings in " ARGV[1])
    printf "%s", body
    next
}

{ print }

END {
    if (failed)
        exit 1
    if (in_code || in_comment)
        fail("unterminated ``` block or comment")
}
