// The client API's invite method, for the app's onboarding: redeem a pub's code over the running peer.
import type { ClientApiSpec, Handlers } from '@hearsay/client-api'
import { guarded, stringArg, type HandlerContext } from './handlers.ts'

type InviteHandlers = Pick<Handlers<ClientApiSpec>, 'useInvite'>

export function inviteHandlers(context: HandlerContext): InviteHandlers {
  return {
    useInvite: guarded(async (code: unknown) => {
      const session = await context.session()
      // InviteErrors cross the API with their own codes (EINVITE_MALFORMED, EINVITE_USED_UP, …).
      const { pub, address } = await session.peer.useInvite(stringArg(code, 'invite code'))
      return { pub, address }
    }),
  }
}
