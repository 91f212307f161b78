import { createApp } from '../../examples/express/app.js'
import { describeHttpContract } from './http-contract.js'
import { describeTenantContextContract } from './tenant-context-contract.js'
import { describeMemberContract } from './member-contract.js'
import { describeHostSignInContract } from './host-sign-in-contract.js'

describeHttpContract('Express', (tenancy) => createApp(tenancy))
describeTenantContextContract('Express', (tenancy, options) => createApp(tenancy, options))
describeMemberContract('Express', (tenancy) => createApp(tenancy))
describeHostSignInContract('Express', (tenancy, options) => createApp(tenancy, options))
