// The client API's identity methods: backup, restore from a phrase or secret file, and the fork
// protection that follows a restore (see restore-guard.ts).
import { ApiError, type ClientApiSpec, type Handlers, type RestoreView, type SetupView } from '@hearsay/client-api'
import { profile } from '@hearsay/store'
import { backupOf, identityFromBackup } from './backup.ts'
import { guarded, stringArg, type HandlerContext, type Session } from './handlers.ts'
import { markRestorePending } from './restore-guard.ts'
import { pushStream } from './streams.ts'

type AccountHandlers = Pick<Handlers<ClientApiSpec>, 'setup' | 'adoptSecret' | 'backup' | 'restoreStatus' | 'restoreStatusLive' | 'confirmNoEarlierMessages'>

/** Longest backup text looked at: a secret file is under 1 KB, a phrase far less. */
const MAX_BACKUP_LENGTH = 10_000

export async function setupOf(session: Session): Promise<SetupView> {
  const [status, about] = await Promise.all([session.store.feedStatus(session.identity.id), profile(session.store, session.identity.id)])
  return { id: session.identity.id, feedLength: status?.sequence ?? 0, named: about.name !== null, restorePending: session.restore.isPending }
}

export function accountHandlers(context: HandlerContext): AccountHandlers {
  return {
    setup: guarded(async () => setupOf(await context.session())),

    adoptSecret: guarded(async (backup: unknown) => {
      const text = stringArg(backup, 'backup')
      if (text.length > MAX_BACKUP_LENGTH) throw new ApiError({ name: 'BackupError', code: 'EBACKUP_SECRET_FILE', message: 'that is far longer than any backup' })
      const identity = identityFromBackup(text)
      const session = await context.session()
      const ours = await session.store.feedStatus(session.identity.id)
      if (ours !== null) {
        if (identity.id === session.identity.id) return setupOf(session)
        throw new ApiError({
          name: 'AdoptError',
          code: 'EAPI_FEED_NOT_EMPTY',
          message: `this identity (${session.identity.id}) has already published ${ours.sequence} message(s); another identity can only be adopted before the first one`,
        })
      }
      if (identity.id === session.identity.id) {
        await session.restore.begin()
        return setupOf(session)
      }
      // Marked before the switch: a crash in between leaves it pending, never unguarded.
      await markRestorePending(session.store, identity.id)
      await context.adopt(identity)
      return setupOf(await context.session())
    }),

    backup: guarded(async () => backupOf((await context.session()).identity)),

    restoreStatus: guarded(async () => (await context.session()).restore.view()),

    // Follows the identity in use across a restore, which replaces the session.
    restoreStatusLive: () =>
      pushStream<RestoreView>((push, fail) => {
        let stopped = false
        let unsubscribe = () => {}
        const follow = async () => {
          const session = await context.session()
          if (stopped) return
          const update = () => void session.restore.view().then(push, () => undefined)
          unsubscribe = session.restore.onChange(update)
          session.ended.signal.addEventListener('abort', () => {
            unsubscribe()
            if (!stopped) follow().catch(fail)
          }, { once: true })
          update()
        }
        follow().catch(fail)
        return () => {
          stopped = true
          unsubscribe()
        }
      }, 1),

    confirmNoEarlierMessages: guarded(async () => {
      const session = await context.session()
      await session.restore.confirmNoEarlierMessages()
      return session.restore.view()
    }),
  }
}
