using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>
/// RFC 8941: the RFC's examples and cases written from its parsing rules (§4.2), each valid one with its canonical
/// serialization (§4.1), each invalid one refused.
/// </summary>
public sealed class StructuredFieldsTests
{
    public static TheoryData<string, string> ValidDictionaries => new()
    {
        { """en="Applepie", da=:w4ZibGV0w6ZydGU=:""", """en="Applepie", da=:w4ZibGV0w6ZydGU=:""" },
        { "a=?0, b, c; foo=bar", "a=?0, b, c;foo=bar" },
        { "rating=1.5, feelings=(joy sadness)", "rating=1.5, feelings=(joy sadness)" },
        { "a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid", "a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid" },
        { "a=1,b=2", "a=1, b=2" },
        { "a=1 ,\tb=2", "a=1, b=2" },
        { "  a=1  ", "a=1" },
        { "a=1, b=2, a=3", "a=3, b=2" },
        { "a=?1, b=?1;x", "a, b;x" },
        { "a=(), b=( 1  2 )", "a=(), b=(1 2)" },
        { "*key=1, k.e-y_*9=2", "*key=1, k.e-y_*9=2" },
        { "", "" },
    };

    public static TheoryData<string, string> ValidLists => new()
    {
        { "sugar, tea, rum", "sugar, tea, rum" },
        { "sugar,tea,rum", "sugar, tea, rum" },
        { "\"foo\", \"bar\", \"It was the best of times.\"", "\"foo\", \"bar\", \"It was the best of times.\"" },
        { "(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()", "(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()" },
        { "(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1", "(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1" },
        { "abc;a=1;b=2; cde_456, (ghi;jk=4 l);q=\"9\";r=w", "abc;a=1;b=2;cde_456, (ghi;jk=4 l);q=\"9\";r=w" },
        { "1;a=1;a=2;b", "1;a=2;b" },
        { "", "" },
    };

    public static TheoryData<string, string> ValidItems => new()
    {
        { "42", "42" },
        { "-42", "-42" },
        { "0", "0" },
        { "-0", "0" },
        { "00042", "42" },
        { "999999999999999", "999999999999999" },
        { "-999999999999999", "-999999999999999" },
        { "4.5", "4.5" },
        { "-4.5", "-4.5" },
        { "1.50", "1.5" },
        { "1.000", "1.0" },
        { "0.001", "0.001" },
        { "123456789012.123", "123456789012.123" },
        { "-123456789012.123", "-123456789012.123" },
        { "\"hello world\"", "\"hello world\"" },
        { "\"\"", "\"\"" },
        { "\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\"" },
        { "\"back\\\\slash\"", "\"back\\\\slash\"" },
        { "foo123/456", "foo123/456" },
        { "*foo", "*foo" },
        { "Foo:bar.baz!#$%&'*+-^_`|~", "Foo:bar.baz!#$%&'*+-^_`|~" },
        { ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:", ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:" },
        { "::", "::" },
        { ":aGVsbG8:", ":aGVsbG8=:" }, // §4.2.7: parsers SHOULD NOT fail on missing padding
        { "?1", "?1" },
        { "?0", "?0" },
        { "1;a;b=?0", "1;a;b=?0" },
        { "5; foo=bar", "5;foo=bar" },
        { "text/html;charset=\"utf-8\";q=0.5", "text/html;charset=\"utf-8\";q=0.5" },
        { "  abc  ", "abc" },
    };

    public static TheoryData<string, string> InvalidDictionaries => new()
    {
        { "trailing comma", "a=1," },
        { "empty member", "a=1,,b=2" },
        { "leading comma", ",a=1" },
        { "upper-case key", "A=1" },
        { "key starting with a digit", "1a=1" },
        { "missing comma", "a=1 b=2" },
        { "unclosed inner list", "a=(1 2" },
        { "comma inside an inner list", "a=(1,2)" },
        { "missing value after '='", "a=" },
        { "non-ASCII", "a=1, b=é" },
        { "tab before key", "\ta=1" },
        { "inner list item not separated", "a=(1\"x\")" },
    };

    public static TheoryData<string, string> InvalidLists => new()
    {
        { "trailing comma", "a," },
        { "leading comma", ",a" },
        { "missing comma", "a b" },
        { "unclosed inner list", "(a b c" },
        { "upper-case parameter key", "a;A=1" },
        { "missing parameter key", "a; =1" },
        { "missing parameter value", "a;b=" },
        { "parameter with inner list value", "a;b=(1)" },
    };

    public static TheoryData<string, string> InvalidItems => new()
    {
        { "empty", "" },
        { "spaces only", "   " },
        { "16-digit integer", "1234567890123456" },
        { "16-digit negative integer", "-1234567890123456" },
        { "lone minus", "-" },
        { "double minus", "--1" },
        { "minus then letter", "-a" },
        { "13 integer digits in a decimal", "1234567890123.0" },
        { "4 fractional digits", "1.1234" },
        { "trailing dot", "1." },
        { "two dots", "1.2.3" },
        { "unterminated string", "\"abc" },
        { "bad escape", "\"a\\b\"" },
        { "lone backslash at end", "\"abc\\" },
        { "non-ASCII in string", "\"é\"" },
        { "control character in string", "\"tab\there\"" },
        { "token with '@'", "a@b" },
        { "token starting with a digit then letters", "4a" },
        { "unterminated byte sequence", ":abc" },
        { "byte sequence with a bad character", ":a$b=:" },
        { "byte sequence with padding in the middle", ":aGVsbG8=aGVsbG8=:" },
        { "byte sequence of impossible length", ":aGVsb:" },
        { "byte sequence with too much padding", ":aGVsbG8==:" },
        { "boolean ?2", "?2" },
        { "lone question mark", "?" },
        { "boolean spelled out", "?true" },
        { "two items", "1 2" },
        { "item then comma", "1," },
        { "unknown leading character", "@x" },
    };

    [Theory]
    [MemberData(nameof(ValidDictionaries))]
    public void Dictionary_parses_and_serializes_canonically(string input, string canonical)
    {
        var parsed = StructuredFields.ParseDictionary(input);

        Assert.Equal(canonical, StructuredFields.Serialize(parsed));
        Assert.Equal(canonical, StructuredFields.Serialize(StructuredFields.ParseDictionary(canonical)));
    }

    [Theory]
    [MemberData(nameof(ValidLists))]
    public void List_parses_and_serializes_canonically(string input, string canonical)
    {
        var parsed = StructuredFields.ParseList(input);

        Assert.Equal(canonical, StructuredFields.Serialize(parsed));
        Assert.Equal(canonical, StructuredFields.Serialize(StructuredFields.ParseList(canonical)));
    }

    [Theory]
    [MemberData(nameof(ValidItems))]
    public void Item_parses_and_serializes_canonically(string input, string canonical)
    {
        var parsed = StructuredFields.ParseItem(input);

        Assert.Equal(canonical, StructuredFields.Serialize(parsed));
        Assert.Equal(canonical, StructuredFields.Serialize(StructuredFields.ParseItem(canonical)));
    }

    [Theory]
    [MemberData(nameof(InvalidDictionaries))]
    public void Dictionary_is_refused(string problem, string input)
    {
        var error = Assert.Throws<StructuredFieldException>(() => StructuredFields.ParseDictionary(input, "Example-Dict"));

        Assert.StartsWith("Example-Dict: ", error.Message);
        Assert.Contains(" at offset ", error.Message);
        Assert.InRange(error.Offset, 0, input.Length);
        _ = problem;
    }

    [Theory]
    [MemberData(nameof(InvalidLists))]
    public void List_is_refused(string problem, string input)
    {
        var error = Assert.Throws<StructuredFieldException>(() => StructuredFields.ParseList(input, "Example-List"));

        Assert.StartsWith("Example-List: ", error.Message);
        _ = problem;
    }

    [Theory]
    [MemberData(nameof(InvalidItems))]
    public void Item_is_refused(string problem, string input)
    {
        var error = Assert.Throws<StructuredFieldException>(() => StructuredFields.ParseItem(input, "Example-Item"));

        Assert.StartsWith("Example-Item: ", error.Message);
        _ = problem;
    }

    [Fact]
    public void Parse_error_names_the_field_the_member_what_was_expected_and_the_offset()
    {
        var error = Assert.Throws<StructuredFieldException>(() =>
            StructuredFields.ParseDictionary("sig1=(\"@method\"\"@path\")", "Signature-Input"));

        Assert.Equal("Signature-Input: expected ')' or a space after an item of the inner list, found '\"' in member 'sig1' at offset 15", error.Message);
        Assert.Equal(("Signature-Input", 15), (error.FieldName, error.Offset));
    }

    [Fact]
    public void Parsed_values_have_their_rfc_types()
    {
        var dictionary = StructuredFields.ParseDictionary("""i=-7, d=2.25, s="x", t=tok, b=:AQI=:, f=?0, l=(1 2);p=1""");

        Assert.True(dictionary.TryGetValue("i", out var i) && ((SfItem)i).Value.AsInteger() == -7);
        Assert.True(dictionary.TryGetValue("d", out var d) && ((SfItem)d).Value.AsDecimal() == 2.25m);
        Assert.True(dictionary.TryGetValue("s", out var s) && ((SfItem)s).Value.AsString() == "x");
        Assert.True(dictionary.TryGetValue("t", out var t) && ((SfItem)t).Value.AsToken() == "tok");
        Assert.True(dictionary.TryGetValue("b", out var b) && ((SfItem)b).Value.AsByteSequence().ToArray() is [1, 2]);
        Assert.True(dictionary.TryGetValue("f", out var f) && !((SfItem)f).Value.AsBoolean());
        Assert.True(dictionary.TryGetValue("l", out var l) && l is SfInnerList { Items.Count: 2 } inner
                    && inner.Parameters.TryGetValue("p", out var p) && p == SfBareItem.Integer(1));
        Assert.Throws<InvalidOperationException>(() => ((SfItem)s).Value.AsToken());
    }

    [Fact]
    public void Byte_sequence_with_non_zero_pad_bits_is_accepted()
    {
        // §4.2.7: parsers SHOULD NOT fail when non-zero pad bits are present.
        var item = StructuredFields.ParseItem(":aGVsbG9=:");

        Assert.Equal("hello"u8.ToArray(), item.Value.AsByteSequence().ToArray());
    }

    [Theory]
    [InlineData(1.0005, "1.0")]
    [InlineData(1.0015, "1.002")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(999999999999.999, "999999999999.999")]
    public void Decimal_is_rounded_half_to_even_to_three_digits(double value, string serialized)
    {
        Assert.Equal(serialized, SfBareItem.Decimal((decimal)value).ToString());
    }

    [Fact]
    public void Values_outside_the_rfc_ranges_cannot_be_created()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SfBareItem.Integer(1_000_000_000_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => SfBareItem.Decimal(1_000_000_000_000m));
        Assert.Throws<ArgumentException>(() => SfBareItem.String("é"));
        Assert.Throws<ArgumentException>(() => SfBareItem.Token("1abc"));
        Assert.Throws<ArgumentException>(() => new SfParameters([new("Upper", SfBareItem.True)]));
    }

    [Fact]
    public void String_serialization_escapes_quote_and_backslash()
    {
        Assert.Equal("\"a\\\"b\\\\c\"", SfBareItem.String("a\"b\\c").ToString());
    }
}
