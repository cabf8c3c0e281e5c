using System.Data.Common;
using System.Threading.Channels;

namespace AgentHub.Storage;

/// <summary>
/// Group commit for the small, independent writes of the relay's hot path (task owners, signature nonces): writes
/// that arrive together share one transaction, so one durable commit (one fsync) acknowledges them all. Each
/// <see cref="ExecuteAsync{T}"/> returns once its write is committed, or throws. When a batch fails, each of its
/// writes is retried alone, so one bad write cannot fail the others.
/// </summary>
internal sealed partial class GroupCommit : IAsyncDisposable
{
    private const int MaxBatch = 256;

    private readonly HubDatabase _database;
    private readonly ILogger<GroupCommit> _logger;
    private readonly Channel<IWrite> _queue = Channel.CreateUnbounded<IWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public GroupCommit(HubDatabase database, ILogger<GroupCommit> logger)
    {
        _database = database;
        _logger = logger;
        // The loop waits for work from the start; it must not inherit its creator's ambient state (HubDatabase's
        // writer flag).
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(RunAsync);
        }
    }

    /// <summary>Runs <paramref name="write"/> in the next batch's transaction; returns its result once committed.</summary>
    public Task<T> ExecuteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write)
    {
        var pending = new Write<T>(write);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The database writer is shut down.");
        }

        return pending.Completion.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<IWrite>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                await _database.WriteAsync(async (connection, transaction) =>
                {
                    foreach (var write in batch)
                    {
                        await write.RunAsync(connection, transaction);
                    }

                    return true;
                }, CancellationToken.None);
                foreach (var write in batch)
                {
                    write.Complete();
                }
            }
            catch (Exception e) when (batch.Count > 1)
            {
                LogBatchFailed(e, batch.Count);
                foreach (var write in batch)
                {
                    await RunAloneAsync(write);
                }
            }
            catch (Exception e)
            {
                batch[0].Fail(e);
            }

            batch.Clear();
        }
    }

    private async Task RunAloneAsync(IWrite write)
    {
        try
        {
            await _database.WriteAsync(async (connection, transaction) =>
            {
                await write.RunAsync(connection, transaction);
                return true;
            }, CancellationToken.None);
            write.Complete();
        }
        catch (Exception e)
        {
            write.Fail(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    private interface IWrite
    {
        Task RunAsync(DbConnection connection, DbTransaction transaction);

        void Complete();

        void Fail(Exception e);
    }

    private sealed class Write<T>(Func<DbConnection, DbTransaction, Task<T>> write) : IWrite
    {
        private T? _result;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task RunAsync(DbConnection connection, DbTransaction transaction) => _result = await write(connection, transaction);

        public void Complete() => Completion.TrySetResult(_result!);

        public void Fail(Exception e) => Completion.TrySetException(e);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "A batch of {Count} writes failed; retrying each alone")]
    private partial void LogBatchFailed(Exception exception, int count);
}
