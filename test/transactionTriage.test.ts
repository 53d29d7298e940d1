import { describe, expect, it } from "@effect/vitest"
import type { TransactionMessage } from "../src/domain/Message.js"
import { makeTransaction } from "../src/domain/Transaction.js"
import { triageTransactions } from "../src/domain/transactionTriage.js"

const now = 1_700_000_000_000
const messageOf = (toAddress: string, timeStamp = now): TransactionMessage => ({
  type: "TRANSACTION",
  data: makeTransaction({ fromAddress: null, toAddress, amount: 1, timeStamp }),
})
const limits = { toleranceMillis: 1_000, maxAddressLength: 8 }

describe("what a run of TRANSACTION messages holds for the pool", () => {
  it("copies of held transactions are dropped; too far ahead and too long are refused; the rest are fresh, in order", () => {
    const held = messageOf("04aa")
    const ahead = messageOf("04bb", now + 1_001)
    const long = messageOf("04".repeat(5))
    const first = messageOf("04cc")
    const second = messageOf("04dd", now + 1_000)
    const triage = triageTransactions(
      [held, first, ahead, long, second, held],
      now,
      limits,
      (hash) => hash === held.data.hash,
    )
    expect(triage).toEqual({ fresh: [first, second], copies: 2, tooFarAhead: [ahead], tooLong: [long] })
  })

  it("a copy is a copy whatever its timestamp or length: held hashes are looked at first", () => {
    const long = messageOf("04".repeat(5), now + 5_000)
    const triage = triageTransactions([long], now, limits, () => true)
    expect(triage).toEqual({ fresh: [], copies: 1, tooFarAhead: [], tooLong: [] })
  })
})
