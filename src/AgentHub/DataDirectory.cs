namespace AgentHub;

/// <summary>Files that hold secrets: created with mode 0600 in a 0700 directory, and refused when others can read them.</summary>
internal static class DataDirectory
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static string Ensure(string dataDir)
    {
        var full = Path.GetFullPath(dataDir);
        if (!Directory.Exists(full))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(full);
            }
            else
            {
                Directory.CreateDirectory(full, PrivateDirectory);
            }
        }

        return full;
    }

    /// <summary>Writes a secret atomically (temp file then rename) with mode 0600.</summary>
    public static void WriteSecretFile(string path, string content, bool overwrite)
    {
        if (!overwrite && File.Exists(path))
        {
            throw new StartupException($"{path} already exists; refusing to overwrite it.");
        }

        var temp = path + ".tmp-" + Environment.ProcessId;
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite);
    }

    /// <summary>Creates an empty file with mode 0600 unless it exists.</summary>
    public static void CreatePrivateFile(string path)
    {
        if (File.Exists(path))
        {
            return;
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }

        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another instance created it first.
        }
    }

    /// <summary>Refuses a secret file that group or others may read, as ssh does.</summary>
    public static void EnsurePrivate(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) != 0)
        {
            throw new StartupException($"{path} is accessible by other users (mode {Convert.ToString((int)mode, 8)}); run: chmod 600 {path}");
        }
    }
}

/// <summary>A start-up problem the operator must fix; its message is shown as is, without a stack trace.</summary>
internal sealed class StartupException(string message) : Exception(message);
