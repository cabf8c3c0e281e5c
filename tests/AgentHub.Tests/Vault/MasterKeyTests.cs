using System.Security.Cryptography;
using AgentHub.Tests.Infrastructure;
using AgentHub.Vault;

namespace AgentHub.Tests.Vault;

/// <summary>Where the master key comes from (src/AgentHub/Vault): configuration, or DATA/master.key kept private.</summary>
public sealed class MasterKeyTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Theory]
    [InlineData("base64")]
    [InlineData("hex")]
    [InlineData("HEX")]
    [InlineData("base64 with whitespace")]
    public void Configured_32_byte_key_is_accepted_as_base64_or_hex(string encoding)
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var text = encoding switch
        {
            "base64" => Convert.ToBase64String(bytes),
            "hex" => Convert.ToHexStringLower(bytes),
            "HEX" => Convert.ToHexString(bytes),
            _ => "  " + Convert.ToBase64String(bytes) + "\n",
        };
        TestArtifacts.Secret(text.Trim());
        using var dir = new TempDirectory();

        using var key = MasterKey.Load(text, dir.Path);

        Assert.Equal(bytes, key.Bytes.ToArray());
        Assert.Equal("AGENTHUB_MASTER_KEY", key.Source);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path)); // no key file when the key is configured
    }

    [Theory]
    [InlineData("base64", 16)]
    [InlineData("base64", 31)]
    [InlineData("base64", 33)]
    [InlineData("base64", 64)]
    [InlineData("hex", 16)]
    [InlineData("hex", 31)]
    [InlineData("hex", 33)]
    [InlineData("base64url", 32)]
    [InlineData("hex with a non-hex digit", 32)]
    public void Configured_key_of_another_length_or_form_is_refused_with_a_clear_message(string encoding, int length)
    {
        var bytes = RandomNumberGenerator.GetBytes(length);
        var text = encoding switch
        {
            "base64" => Convert.ToBase64String(bytes),
            "hex" => Convert.ToHexStringLower(bytes),
            "base64url" => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            _ => Convert.ToHexStringLower(bytes)[..63] + "g",
        };
        TestArtifacts.Secret(text);
        using var dir = new TempDirectory();

        var error = Assert.Throws<StartupException>(() => MasterKey.Load(text, dir.Path));

        Assert.Equal("The master key from AGENTHUB_MASTER_KEY must be 32 bytes, as base64 (44 characters) or hex (64 characters).", error.Message);
        Assert.DoesNotContain(text, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_configuration_a_key_file_is_created_with_mode_0600_and_reused()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "master.key");

        byte[] first;
        using (var created = MasterKey.Load(null, dir.Path))
        {
            first = created.Bytes.ToArray();
            Assert.Equal(path, created.Source);
        }

        var text = File.ReadAllText(path);
        TestArtifacts.Secret(text.Trim());
        Assert.Equal(Private, File.GetUnixFileMode(path));
        Assert.Equal(first, Convert.FromBase64String(text.Trim()));
        Assert.Equal(["master.key"], Directory.GetFiles(dir.Path).Select(Path.GetFileName)); // no temp file left
        using var reloaded = MasterKey.Load(null, dir.Path);
        Assert.Equal(first, reloaded.Bytes.ToArray());
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, "640")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite, "602")]
    public void Key_file_others_can_access_is_refused_naming_chmod(UnixFileMode mode, string octal)
    {
        using var dir = new TempDirectory();
        var path = WriteKeyFile(dir.Path, mode);

        var error = Assert.Throws<StartupException>(() => MasterKey.Load(null, dir.Path));

        Assert.Equal($"{path} is accessible by other users (mode {octal}); run: chmod 600 {path}", error.Message);
    }

    [Fact]
    public void Key_file_that_is_not_a_key_is_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "master.key");
        File.WriteAllText(path, "not a key\n");
        File.SetUnixFileMode(path, Private);

        var error = Assert.Throws<StartupException>(() => MasterKey.Load(null, dir.Path));

        Assert.Equal($"The master key from {path} must be 32 bytes, as base64 (44 characters) or hex (64 characters).", error.Message);
    }

    [Fact]
    public async Task Serve_with_a_key_file_others_can_read_stops_with_one_line_naming_chmod()
    {
        using var dir = new TempDirectory();
        var path = WriteKeyFile(dir.Path, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["serve", "--data", dir.Path, "--urls", "http://127.0.0.1:0"]);

        Assert.Equal(1, exit);
        Assert.Contains($"error: {path} is accessible by other users (mode 644); run: chmod 600 {path}", stderr.Split('\n'));
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.Path, "bootstrap-admin.key")));
    }

    private static string WriteKeyFile(string dir, UnixFileMode mode)
    {
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(text);
        var path = Path.Combine(dir, "master.key");
        File.WriteAllText(path, text + "\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }
}
