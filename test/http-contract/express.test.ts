import { createApp } from '../../examples/express/app.js'
import { describeHttpContract } from './http-contract.js'
import { describeTenantContextContract } from './tenant-context-contract.js'
import { describeMemberContract } from './member-contract.js'

describeHttpContract('Express', (tenancy) => createApp(tenancy))
describeTenantContextContract('Express', (tenancy, options) => createApp(tenancy, options))
describeMemberContract('Express', (tenancy) => createApp(tenancy))
