namespace AgentHub.Client.Signatures;

/// <summary>
/// The parsing algorithms of RFC 8941 §4.2, strictly: whatever the RFC says to fail on throws a
/// <see cref="StructuredFieldException"/> naming the field, what was expected, the member and the offset.
/// </summary>
internal ref struct SfParser
{
    private const int MaxIntegerChars = 15;
    private const int MaxDecimalIntegerChars = 12;
    private const int MaxDecimalChars = 16;
    private const int MaxFractionChars = 3;
    private static readonly decimal[] Powers = [1m, 10m, 100m, 1000m];

    private readonly ReadOnlySpan<char> _s;
    private readonly string? _field;
    private int _pos;
    private string? _member;

    public SfParser(ReadOnlySpan<char> value, string? fieldName)
    {
        _s = value;
        _field = fieldName;
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] > '\x7f')
            {
                _pos = i;
                throw Fail($"non-ASCII character U+{(int)value[i]:X4}");
            }
        }
    }

    public SfDictionary ParseDictionaryField()
    {
        SkipSp();
        var dictionary = new SfDictionary();
        while (!AtEnd)
        {
            var key = ParseKey("a dictionary key");
            _member = key;
            if (Peek == '=')
            {
                _pos++;
                dictionary.Set(key, ParseItemOrInnerList());
            }
            else
            {
                dictionary.Set(key, new SfItem(SfBareItem.True, ParseParameters()));
            }

            _member = null;
            SkipOws();
            if (AtEnd)
            {
                break;
            }

            if (Peek != ',')
            {
                throw Fail($"expected ',' after the member '{key}', found {Describe(Peek)}");
            }

            _pos++;
            SkipOws();
            if (AtEnd)
            {
                throw Fail("a trailing ',' must be followed by another member");
            }
        }

        EndOfField();
        return dictionary;
    }

    public List<SfMember> ParseListField()
    {
        SkipSp();
        var list = new List<SfMember>();
        while (!AtEnd)
        {
            list.Add(ParseItemOrInnerList());
            SkipOws();
            if (AtEnd)
            {
                break;
            }

            if (Peek != ',')
            {
                throw Fail($"expected ',' after a list member, found {Describe(Peek)}");
            }

            _pos++;
            SkipOws();
            if (AtEnd)
            {
                throw Fail("a trailing ',' must be followed by another member");
            }
        }

        EndOfField();
        return list;
    }

    public SfItem ParseItemField()
    {
        SkipSp();
        var item = ParseItem();
        EndOfField();
        return item;
    }

    private readonly bool AtEnd => _pos >= _s.Length;

    private readonly char Peek => _pos < _s.Length ? _s[_pos] : '\0';

    private SfMember ParseItemOrInnerList() => Peek == '(' ? ParseInnerList() : ParseItem();

    private SfInnerList ParseInnerList()
    {
        _pos++; // '('
        var items = new List<SfItem>();
        while (!AtEnd)
        {
            SkipSp();
            if (Peek == ')')
            {
                _pos++;
                return new SfInnerList(items, ParseParameters());
            }

            items.Add(ParseItem());
            if (!AtEnd && Peek is not (' ' or ')'))
            {
                throw Fail($"expected ')' or a space after an item of the inner list, found {Describe(Peek)}");
            }
        }

        throw Fail("the inner list is not closed with ')'");
    }

    private SfItem ParseItem()
    {
        var value = ParseBareItem();
        return new SfItem(value, ParseParameters());
    }

    private SfParameters ParseParameters()
    {
        List<KeyValuePair<string, SfBareItem>>? parameters = null;
        while (Peek == ';')
        {
            _pos++;
            SkipSp();
            var key = ParseKey("a parameter key");
            var value = SfBareItem.True;
            if (Peek == '=')
            {
                _pos++;
                value = ParseBareItem();
            }

            SfParameters.Set(parameters ??= [], key, value);
        }

        return SfParameters.FromParsed(parameters);
    }

    private string ParseKey(string what)
    {
        if (AtEnd || !SfSyntax.IsKeyStart(Peek))
        {
            throw Fail($"expected {what} (a lowercase letter or '*'), found {Describe(Peek)}");
        }

        var start = _pos;
        while (!AtEnd && SfSyntax.IsKeyChar(Peek))
        {
            _pos++;
        }

        return _s[start.._pos].ToString();
    }

    private SfBareItem ParseBareItem()
    {
        var c = Peek;
        if (AtEnd)
        {
            throw Fail("expected an item, found the end of the value");
        }

        if (c == '-' || SfSyntax.IsDigit(c))
        {
            return ParseNumber();
        }

        if (c == '"')
        {
            return ParseString();
        }

        if (SfSyntax.IsTokenStart(c))
        {
            return ParseToken();
        }

        return c switch
        {
            ':' => ParseByteSequence(),
            '?' => ParseBoolean(),
            _ => throw Fail($"expected an item (Integer, Decimal, String, Token, Byte Sequence or Boolean), found {Describe(c)}"),
        };
    }

    private SfBareItem ParseNumber()
    {
        var negative = false;
        if (Peek == '-')
        {
            negative = true;
            _pos++;
        }

        if (AtEnd || !SfSyntax.IsDigit(Peek))
        {
            throw Fail($"expected a digit, found {Describe(Peek)}");
        }

        var isDecimal = false;
        var length = 0;
        long integerPart = 0;
        long fraction = 0;
        var fractionDigits = 0;
        while (!AtEnd)
        {
            var c = Peek;
            if (SfSyntax.IsDigit(c))
            {
                if (isDecimal)
                {
                    fraction = (fraction * 10) + (c - '0');
                    fractionDigits++;
                }
                else
                {
                    integerPart = (integerPart * 10) + (c - '0');
                }
            }
            else if (!isDecimal && c == '.')
            {
                if (length > MaxDecimalIntegerChars)
                {
                    throw Fail("a Decimal has at most 12 digits before '.'");
                }

                isDecimal = true;
            }
            else
            {
                break;
            }

            _pos++;
            length++;
            if (!isDecimal && length > MaxIntegerChars)
            {
                throw Fail("an Integer has at most 15 digits");
            }

            if (isDecimal && length > MaxDecimalChars)
            {
                throw Fail("a Decimal has at most 16 characters");
            }

            if (fractionDigits > MaxFractionChars)
            {
                throw Fail("a Decimal has at most 3 digits after '.'");
            }
        }

        if (!isDecimal)
        {
            return SfBareItem.Integer(negative ? -integerPart : integerPart);
        }

        if (fractionDigits == 0)
        {
            throw Fail("a Decimal needs a digit after '.'");
        }

        var value = integerPart + (fraction / Powers[fractionDigits]);
        return SfBareItem.FromParsedDecimal(negative ? -value : value);
    }

    private SfBareItem ParseString()
    {
        _pos++; // '"'
        var start = _pos;
        System.Text.StringBuilder? unescaped = null;
        while (!AtEnd)
        {
            var c = _s[_pos];
            if (c == '"')
            {
                var text = unescaped is null ? _s[start.._pos].ToString() : unescaped.Append(_s[start.._pos]).ToString();
                _pos++;
                return SfBareItem.FromParsedString(text);
            }

            if (c == '\\')
            {
                if (_pos + 1 >= _s.Length)
                {
                    throw Fail("a String ends with a lone '\\'");
                }

                var next = _s[_pos + 1];
                if (next is not ('"' or '\\'))
                {
                    _pos++;
                    throw Fail($"a String may only escape '\"' or '\\', not {Describe(next)}");
                }

                unescaped ??= new System.Text.StringBuilder();
                unescaped.Append(_s[start.._pos]).Append(next);
                _pos += 2;
                start = _pos;
                continue;
            }

            if (c is < ' ' or > '~')
            {
                throw Fail($"a String may not contain the control character U+{(int)c:X4}");
            }

            _pos++;
        }

        throw Fail("a String is not closed with '\"'");
    }

    private SfBareItem ParseToken()
    {
        var start = _pos;
        _pos++;
        while (!AtEnd && SfSyntax.IsTokenChar(Peek))
        {
            _pos++;
        }

        return SfBareItem.FromParsedToken(_s[start.._pos].ToString());
    }

    private SfBareItem ParseByteSequence()
    {
        _pos++; // ':'
        var start = _pos;
        var end = _s[start..].IndexOf(':');
        if (end < 0)
        {
            throw Fail("a Byte Sequence is not closed with ':'");
        }

        var content = _s.Slice(start, end);
        for (var i = 0; i < content.Length; i++)
        {
            if (!SfSyntax.IsBase64Char(content[i]))
            {
                _pos = start + i;
                throw Fail($"a Byte Sequence holds base64 characters only, not {Describe(content[i])}");
            }
        }

        // §4.2.7: parsers SHOULD NOT fail on missing '=' padding or non-zero pad bits; anything else is invalid base64.
        var padded = content.TrimEnd('=');
        var missing = (4 - (padded.Length % 4)) % 4;
        var equalsCount = content.Length - padded.Length;
        if (missing == 3 || padded.Contains('=') || equalsCount > missing)
        {
            throw Fail("a Byte Sequence is not valid base64");
        }

        Span<char> buffer = padded.Length + missing <= 512 ? stackalloc char[padded.Length + missing] : new char[padded.Length + missing];
        padded.CopyTo(buffer);
        buffer[padded.Length..].Fill('=');
        var bytes = new byte[(buffer.Length / 4) * 3];
        if (!Convert.TryFromBase64Chars(buffer, bytes, out var written))
        {
            throw Fail("a Byte Sequence is not valid base64");
        }

        _pos = start + end + 1;
        return SfBareItem.ByteSequence(written == bytes.Length ? bytes : bytes[..written]);
    }

    private SfBareItem ParseBoolean()
    {
        _pos++; // '?'
        switch (Peek)
        {
            case '1' when !AtEnd:
                _pos++;
                return SfBareItem.True;
            case '0' when !AtEnd:
                _pos++;
                return SfBareItem.Boolean(false);
            default:
                throw Fail($"a Boolean is '?1' or '?0', found {Describe(Peek)} after '?'");
        }
    }

    private void SkipSp()
    {
        while (!AtEnd && _s[_pos] == ' ')
        {
            _pos++;
        }
    }

    private void SkipOws()
    {
        while (!AtEnd && _s[_pos] is ' ' or '\t')
        {
            _pos++;
        }
    }

    private void EndOfField()
    {
        SkipSp();
        if (!AtEnd)
        {
            throw Fail($"unexpected {Describe(Peek)} after the value");
        }
    }

    private readonly string Describe(char c) =>
        AtEnd && c == '\0' ? "the end of the value"
        : c is < ' ' or > '~' ? $"U+{(int)c:X4}"
        : $"'{c}'";

    private readonly StructuredFieldException Fail(string message) =>
        new(_field, _pos, _member is null ? message : $"{message} in member '{_member}'");
}
