using System.Security.Cryptography;

namespace AgentHub.Vault;

/// <summary>
/// The 256-bit key everything else at rest is encrypted under. It comes from <c>AGENTHUB_MASTER_KEY</c>
/// (configuration key <c>MasterKey</c>, base64 or hex) or from <c>DATA/master.key</c>, created on first start
/// with mode 0600. It is never logged and never leaves the process.
/// </summary>
internal sealed class MasterKey : IDisposable
{
    public const string FileName = "master.key";
    private readonly byte[] _key;

    private MasterKey(byte[] key, string source)
    {
        _key = key;
        Source = source;
    }

    /// <summary>Where the key came from, for start-up messages (never the key itself).</summary>
    public string Source { get; }

    internal ReadOnlySpan<byte> Bytes => _key;

    public static MasterKey Load(string? configured, string dataDir)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new MasterKey(Decode(configured, "AGENTHUB_MASTER_KEY"), "AGENTHUB_MASTER_KEY");
        }

        var path = Path.GetFullPath(Path.Combine(dataDir, FileName));
        if (File.Exists(path))
        {
            DataDirectory.EnsurePrivate(path);
            return new MasterKey(Decode(File.ReadAllText(path), path), path);
        }

        var key = RandomNumberGenerator.GetBytes(32);
        DataDirectory.WriteSecretFile(path, Convert.ToBase64String(key) + "\n", overwrite: false);
        return new MasterKey(key, path);
    }

    private static byte[] Decode(string text, string source)
    {
        text = text.Trim();
        byte[]? key = null;
        if (text.Length == 64 && text.All(Uri.IsHexDigit))
        {
            key = Convert.FromHexString(text);
        }
        else
        {
            var buffer = new byte[(text.Length * 3 / 4) + 3];
            if (Convert.TryFromBase64String(text, buffer, out var written))
            {
                key = buffer[..written];
            }
        }

        if (key is not { Length: 32 })
        {
            throw new StartupException(
                $"The master key from {source} must be 32 bytes, as base64 (44 characters) or hex (64 characters).");
        }

        return key;
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}
