/**
 * Hand-written chat prompts for a sanity check of the shipped classifier's ordering (chat-order.test.ts).
 * Not training data and not labelled by any model's outcome: written once, before the features they test,
 * to stand in for open-ended chat, which the dev data has none of. "Easy" is what a weak model usually
 * answers well (greetings, simple writing, roleplay, extraction, humanities); "hard" is what usually needs
 * the strong one (multi-step math and proofs, tricky code, logic puzzles, follow-ups that need reasoning).
 */
import type { ChatMessage } from '../../../core/classifier/text.js';

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const turns = (...contents: string[]): ChatMessage[] =>
  contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content }));

export const EASY_CHAT: readonly ChatMessage[][] = [
  user('Hi! How are you today?'),
  user('Write a short thank-you note to my neighbour for watering my plants while I was away.'),
  user('Pretend you are a pirate captain and greet your new crew.'),
  user(
    "Extract all the names of people mentioned in this text: 'Yesterday Maria met Tom and his sister Ana at the cafe near the station.'",
  ),
  user('Write a haiku about autumn leaves.'),
  user('Give me three catchy names for a bakery that specialises in sourdough.'),
  user("Rewrite this sentence to sound more polite: 'Send me the report now.'"),
  user('What is the capital of Australia?'),
  user('Summarise the plot of Romeo and Juliet in two sentences.'),
  user('Draft a friendly email inviting my team to a picnic on Friday.'),
  user("Translate 'Good morning, how are you?' into Spanish."),
  user('Tell me a fun fact about octopuses.'),
  user('You are a tour guide in Paris. Describe the Eiffel Tower to a group of tourists.'),
  user("List the main characters in Harry Potter and the Philosopher's Stone."),
  user('Write a tweet announcing the opening of our new coffee shop.'),
  turns(
    'Write a limerick about a cat.',
    'There once was a cat named Lou, who napped in a comfortable shoe...',
    'Make it a bit funnier.',
  ),
  user('Which of these are fruits: apple, carrot, banana, potato? Return them as a comma-separated list.'),
  user('Describe what a typical day looked like for a medieval farmer.'),
  user('Suggest a name for my golden retriever puppy.'),
  turns(
    'Can you recommend a good book for a beach holiday?',
    'Try "The Beach House" by Mary Alice Monroe: light, warm and easy to pick up between swims.',
    'Thanks! Anything similar but shorter?',
  ),
];

export const HARD_CHAT: readonly ChatMessage[][] = [
  user('Prove that there are infinitely many primes of the form 4k+3.'),
  user(
    "Write a Python function that finds the longest palindromic substring in O(n) time using Manacher's algorithm, and explain its complexity.",
  ),
  user(
    "Three boxes are labelled 'apples', 'oranges' and 'mixed', and every label is wrong. You may take one fruit from one box without looking. How do you relabel all the boxes correctly? Explain your reasoning.",
  ),
  user('Let f(x) = x^3 - 6x^2 + 11x - 6. Find all real roots and the intervals where f is increasing.'),
  user(
    'Implement a lock-free single-producer single-consumer ring buffer in C++ and explain the memory ordering you need.',
  ),
  user(
    'A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost? Show each step.',
  ),
  user(
    'Given an array of integers, return the number of subarrays whose sum is divisible by k. Write an efficient solution in Java and analyse its time complexity.',
  ),
  user('Evaluate the integral of x^2 * e^(-x) from 0 to infinity and justify each step.'),
  user(
    'If all bloops are razzies and some razzies are lazzies, can we conclude that some bloops are lazzies? Explain why or why not.',
  ),
  user(
    'Debug this code: it should return the k-th smallest element but fails on duplicates.\n```python\ndef kth(a, k):\n    return sorted(set(a))[k]\n```',
  ),
  user('What is the probability of getting at least two heads in five fair coin tosses? Derive the answer.'),
  user(
    'Write a SQL query that returns, for each department, the employee with the second highest salary, handling ties.',
  ),
  user('Prove by induction that the sum of the first n odd numbers is n^2.'),
  user(
    'A train leaves at 3:15 pm travelling at 80 km/h; a second train leaves the same station at 4:00 pm at 110 km/h on the same track. At what time does the second train catch up, and how far from the station?',
  ),
  turns(
    'Write a function to check whether a binary tree is a valid binary search tree.',
    'def is_bst(node, lo=None, hi=None):\n    if node is None:\n        return True\n    return is_bst(node.left, lo, node.val) and is_bst(node.right, node.val, hi)',
    'Your solution accepts duplicate values in the wrong subtree. Fix it and prove the new version is correct.',
  ),
  user('Design an algorithm to detect a cycle in a directed graph and explain why it runs in O(V + E).'),
  user('Solve the system of equations: 2x + 3y - z = 5, x - y + 2z = 3, 3x + y + z = 10.'),
  user(
    'Five people sit in a row. Alice is not at either end, Bob sits directly right of Carol, and Dan is two seats left of Eve. List every valid arrangement and explain how you found them.',
  ),
  turns(
    'A number leaves remainder 3 when divided by 7. What is the remainder when 5 times the number is divided by 7?',
    'The remainder is 1.',
    'Now what is the remainder when the square of the number is divided by 7? Justify it for every such number.',
  ),
  user(
    'Explain the time complexity of quicksort in the average and worst case, and derive the average-case recurrence.',
  ),
];
