import { createApp } from '../../examples/koa/app.js'
import { describeHttpContract } from './http-contract.js'
import { describeTenantContextContract } from './tenant-context-contract.js'
import { describeMemberContract } from './member-contract.js'
import { describeHostSignInContract } from './host-sign-in-contract.js'

describeHttpContract('Koa', (tenancy) => createApp(tenancy).callback())
describeTenantContextContract('Koa', (tenancy, options) => createApp(tenancy, options).callback())
describeMemberContract('Koa', (tenancy) => createApp(tenancy).callback())
describeHostSignInContract('Koa', (tenancy, options) => createApp(tenancy, options).callback())
