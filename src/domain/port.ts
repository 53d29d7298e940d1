import { Either } from "effect"

/** Reads a TCP port as written in .env or the environment, or says what is wrong with it. */
export const parsePort = (text: string): Either.Either<number, string> => {
  const value = text.trim()
  if (!/^[0-9]+$/.test(value)) return Either.left(`PORT ${JSON.stringify(text)} is not a number`)
  const port = Number(value)
  if (port < 1 || port > 65535) return Either.left(`PORT ${value} is out of range: a port is 1 to 65535`)
  return Either.right(port)
}
