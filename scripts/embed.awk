# embed.awk - write a text file as a C string constant:
#   awk -v name=NAME -f embed.awk FILE
# (escapes character by character: gsub's backslash rules differ between awks)
BEGIN { printf "static const char %s[] =\n", name; bs = sprintf("%c", 92) }
{
    out = ""
    for (i = 1; i <= length($0); i++) {
        c = substr($0, i, 1)
        if (c == bs) out = out bs bs
        else if (c == "\"") out = out bs "\""
        else if (c == "\t") out = out bs "t"
        else out = out c
    }
    printf "    \"%s%sn\"\n", out, bs
}
END { print "    ;" }
