using AgentHub.Client.Signatures;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AgentHub.Tests.Signatures;

/// <summary>
/// RFC 8941 on generated input: any string either parses or fails with <see cref="StructuredFieldException"/> (the
/// documented failure, which the hub turns into a 401 with a reason), and generated valid dictionaries and lists
/// survive serialize → parse → serialize unchanged.
/// </summary>
public sealed class StructuredFieldsPropertyTests
{
    // The characters the grammar cares about, a few it forbids, and one beyond ASCII.
    private const string Alphabet = "abcxyz019*;=,()\"\\:?.-_ /+\t!#%&'^`|~@[]{}<>AZé\u0001\u007f";

    private static Arbitrary<string> SfLikeStrings() =>
        Gen.OneOf(
            Gen.ArrayOf(Gen.Elements(Alphabet.ToCharArray())).Select(c => new string(c)),
            ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""),
            ValidDictionaries().Generator.Zip(Gen.Choose(0, 200)).Zip(Gen.Elements(Alphabet.ToCharArray()))
                .Select(t => Corrupt(StructuredFields.Serialize(t.Item1.Item1), t.Item1.Item2, t.Item2))).ToArbitrary();

    private static string Corrupt(string s, int at, char c) => s.Length == 0 ? c.ToString() : s.Insert(at % s.Length, c.ToString());

    [Property(MaxTest = 3000)]
    public Property Any_string_parses_or_fails_with_a_structured_field_exception() =>
        Prop.ForAll(SfLikeStrings(), value =>
        {
            Fails(() => StructuredFields.ParseDictionary(value, "Signature-Input"));
            Fails(() => StructuredFields.ParseList(value, "X-List"));
            Fails(() => StructuredFields.ParseItem(value, "X-Item"));
        });

    [Property(MaxTest = 1000)]
    public Property Valid_dictionaries_round_trip() =>
        Prop.ForAll(ValidDictionaries(), dictionary =>
        {
            var text = StructuredFields.Serialize(dictionary);
            var parsed = StructuredFields.ParseDictionary(text);
            Assert.Equal(text, StructuredFields.Serialize(parsed));
            Assert.Equal(dictionary.Keys, parsed.Keys);
        });

    [Property(MaxTest = 1000)]
    public Property Valid_lists_round_trip() =>
        Prop.ForAll(Gen.ListOf(Members()).Select(l => (IReadOnlyList<SfMember>)[.. l]).ToArbitrary(), list =>
        {
            var text = StructuredFields.Serialize(list);
            Assert.Equal(text, StructuredFields.Serialize(StructuredFields.ParseList(text)));
        });

    private static void Fails(Action parse)
    {
        try
        {
            parse();
        }
        catch (StructuredFieldException)
        {
            // the documented failure
        }
    }

    private static Arbitrary<SfDictionary> ValidDictionaries() =>
        Gen.ListOf(Keys().Zip(Members())).Select(members => new SfDictionary(members.Select(m => KeyValuePair.Create(m.Item1, m.Item2)))).ToArbitrary();

    private static Gen<string> Keys() =>
        from first in Gen.Elements("abcz*".ToCharArray())
        from rest in Gen.ArrayOf(Gen.Elements("az09_-.*".ToCharArray()))
        select first + new string(rest);

    private static Gen<SfBareItem> BareItems() =>
        Gen.OneOf(
            Gen.Choose(-1_000_000, 1_000_000).Select(i => SfBareItem.Integer(i * 999_999_999L)),
            Gen.Choose(-999_999, 999_999).Zip(Gen.Choose(0, 999)).Select(d => SfBareItem.Decimal(d.Item1 + (d.Item2 / 1000m))),
            Gen.ArrayOf(Gen.Choose(0x20, 0x7e).Select(c => (char)c)).Select(c => SfBareItem.String(new string(c))),
            from first in Gen.Elements("aZ*".ToCharArray())
            from rest in Gen.ArrayOf(Gen.Elements("az09!#$%&'*+-.^_`|~:/".ToCharArray()))
            select SfBareItem.Token(first + new string(rest)),
            ArbMap.Default.GeneratorFor<byte[]>().Select(b => SfBareItem.ByteSequence(b ?? [])),
            ArbMap.Default.GeneratorFor<bool>().Select(SfBareItem.Boolean));

    private static Gen<SfParameters> Parameters() =>
        Gen.ListOf(Keys().Zip(BareItems())).Select(p => new SfParameters(p.Select(kv => KeyValuePair.Create(kv.Item1, kv.Item2))));

    private static Gen<SfMember> Members() =>
        Gen.OneOf(
            BareItems().Zip(Parameters()).Select(t => (SfMember)new SfItem(t.Item1, t.Item2)),
            Gen.ListOf(BareItems().Zip(Parameters()).Select(t => new SfItem(t.Item1, t.Item2)))
                .Zip(Parameters()).Select(t => (SfMember)new SfInnerList([.. t.Item1], t.Item2)));
}
