namespace AgentHub.Benchmarks;

/// <summary>The few options the two modes take: <c>--name value</c> pairs and flags; what is not asked for stays in <see cref="Rest"/>.</summary>
internal sealed class BenchArgs(IEnumerable<string> args)
{
    private readonly List<string> _args = [.. args];

    public bool Flag(string name) => _args.Remove(name);

    public string? Value(string name)
    {
        var index = _args.IndexOf(name);
        if (index < 0)
        {
            return null;
        }

        if (index + 1 >= _args.Count)
        {
            throw new ArgumentException($"{name} needs a value.");
        }

        var value = _args[index + 1];
        _args.RemoveRange(index, 2);
        return value;
    }

    public int Int(string name, int fallback) =>
        Value(name) is { } text ? int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"{name} must be a positive whole number, not '{text}'.") : fallback;

    public double Double(string name, double fallback) =>
        Value(name) is { } text ? double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"{name} must be a positive number, not '{text}'.") : fallback;

    /// <summary>What no option asked for, in order.</summary>
    public string[] Rest() => [.. _args];
}
